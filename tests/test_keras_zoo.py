"""The model zoo's problem patterns (issue 28), each in a small model built here (nothing downloaded):
MobileNetV3's 1x1 conv named ``logits`` after a global pooling, ConvNeXt's block output ``inputs + x``
that is no layer, a Keras 3 CNN that starts with a convolution (input invariance), an untrained
network whose softmax hides its weights, an adapted Normalization, and a channels-first model."""
import numpy as np
import pytest

from sanity_checks import methods
from sanity_checks.errors import ModelError, UnsupportedError
from sanity_checks.keras.eager import eager_mode, probe_range, snapshot_of
from sanity_checks.loading import load_model

import keras_zoo as zoo
from test_checks import KINDERMANS_WITHOUT_NOISE, assert_kindermans

pytestmark = pytest.mark.xdist_group("keras_models")


def quiet(*args):
    pass


def saved(tmp_path, build, flavour, seed=0):
    """(eager model, path of its .keras file) of ``build(K, seed)``."""
    with eager_mode():
        model = build(zoo.keras_module(flavour), seed)
        return model, zoo.save(model, flavour, str(tmp_path), model.name, ["keras"])["keras"]


def mobilenet_v3_head(K, seed):
    """MobileNetV3's head: convs, a global pooling that keeps (1, 1), 1x1 convs, the classifier a 1x1 conv
    named ``logits``, Flatten and a softmax."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((16, 16, 3))
    x = K.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv")(inputs)
    x = K.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_1")(x)
    x = K.layers.GlobalAveragePooling2D(keepdims=True, name="gap")(x)
    x = K.layers.Conv2D(12, 1, activation="relu", name="conv_2")(x)
    x = K.layers.Dropout(0.2, name="dropout")(x)
    x = K.layers.Conv2D(5, 1, name="logits")(x)
    x = K.layers.Flatten(name="flatten")(x)
    return K.Model(inputs, K.layers.Activation("softmax", name="predictions")(x), name="mnv3_head")


def convnext_block(K, seed):
    """A ConvNeXt block whose output is the raw op ``inputs + x`` (Keras 3: an operation, no layer;
    tf-keras: a TFOpLambda layer) after ConvNeXt's LayerScale (Keras 3), then ConvNeXt's head."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((16, 16, 3))
    stem = K.layers.Conv2D(8, 4, strides=4, name="stem")(inputs)
    x = K.layers.DepthwiseConv2D(3, padding="same", name="block_depthwise")(stem)
    x = K.layers.LayerNormalization(epsilon=1e-6, name="block_layernorm")(x)
    x = K.layers.Dense(16, activation="gelu", name="block_pointwise_1")(x)
    x = K.layers.Dense(8, name="block_pointwise_2")(x)
    if K.__name__ == "keras":   # a weight without a name: another graph's rebuild names it otherwise
        from keras.src.applications.convnext import LayerScale
        x = LayerScale(0.5, 8, name="block_layer_scale")(x)
    x = stem + x
    x = K.layers.GlobalAveragePooling2D(name="head_gap")(x)
    x = K.layers.LayerNormalization(epsilon=1e-6, name="head_layernorm")(x)
    return K.Model(inputs, K.layers.Dense(4, name="head_dense")(x), name="convnext_block")


def preprocessed_cnn(K, seed):
    """Its own preprocessing from pixel values (Rescaling 1/255) before a conv with a bias, and a head
    whose tiny initial weights make the softmax ~uniform (as an untrained EfficientNet's)."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((12, 12, 3))
    x = K.layers.Rescaling(1 / 255.0, name="rescaling")(inputs)
    x = K.layers.Conv2D(6, 3, padding="same", activation="swish", name="stem_conv")(x)
    x = K.layers.GlobalAveragePooling2D(name="gap")(x)
    head = K.initializers.RandomUniform(-1e-6, 1e-6, seed=seed)
    return K.Model(inputs, K.layers.Dense(4, activation="softmax", kernel_initializer=head, name="predictions")(x),
                   name="preprocessed_cnn")


def conv_bn_first(K, seed):
    """A conv without bias followed by batch normalization (Inception's, EfficientNet's stem)."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((12, 12, 3))
    x = K.layers.Conv2D(6, 3, use_bias=False, name="stem_conv")(inputs)
    x = K.layers.BatchNormalization(name="stem_bn")(x)
    x = K.layers.ReLU(name="stem_relu")(x)
    x = K.layers.Flatten(name="flat")(x)
    return K.Model(inputs, K.layers.Dense(3, name="dense")(x), name="conv_bn_first")


def stage_of_two_convs(K, seed, bias=True):
    """VGG's first stage (``block1_conv1``, ``block1_conv2``, both with a bias: one block by the stages), or
    with ``bias=False`` Xception's (each conv without a bias, then batch normalization)."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((12, 12, 3))
    x = K.layers.ZeroPadding2D(1, name="pad")(inputs)
    x = K.layers.Conv2D(4, 3, use_bias=bias, activation="relu" if bias else None, name="block1_conv1")(x)
    if not bias:
        x = K.layers.ReLU(name="block1_conv1_act")(K.layers.BatchNormalization(name="block1_conv1_bn")(x))
    x = K.layers.Conv2D(4, 3, use_bias=bias, activation="relu", name="block1_conv2")(x)
    x = K.layers.Flatten(name="flat")(K.layers.MaxPooling2D(2, name="block1_pool")(x))
    return K.Model(inputs, K.layers.Dense(3, name="predictions")(x), name="two_convs" if bias else "xception_stem")


def dense_first(K, seed):
    K.utils.set_random_seed(seed)
    return K.Sequential([K.Input((6, 6, 1)), K.layers.Flatten(name="flat"),
                         K.layers.Dense(12, activation="relu", name="fc1"),
                         K.layers.Dense(3, name="fc2")], name="dense_first")


def normalized(K, seed):
    """An adapted Normalization (weights: mean, variance, count, none trainable) before a conv."""
    K.utils.set_random_seed(seed)
    norm = K.layers.Normalization(name="normalization")
    norm.adapt(np.random.default_rng(seed).uniform(0, 255, (8, 10, 10, 3)).astype(np.float32))
    inputs = K.Input((10, 10, 3))
    x = K.layers.Conv2D(4, 3, activation="relu", name="conv")(norm(inputs))
    x = K.layers.Flatten(name="flat")(x)
    return K.Model(inputs, K.layers.Dense(3, name="dense")(x), name="normalized")


def channels_first(K, seed):
    K.utils.set_random_seed(seed)
    inputs = K.Input((3, 16, 16))
    x = K.layers.Conv2D(4, 3, data_format="channels_first", activation="relu", name="conv")(inputs)
    x = K.layers.Flatten(name="flat")(x)
    return K.Model(inputs, K.layers.Dense(3, name="dense")(x), name="channels_first")


# ------------------------------------------------------------------------ 1. MobileNetV3: names, 1x1 maps
@pytest.mark.parametrize("flavour", zoo.FLAVOURS)
def test_a_user_layer_named_logits_is_that_layer_and_gradcam_skips_1x1_maps(tmp_path, flavour):
    eager_model, path = saved(tmp_path, mobilenet_v3_head, flavour)
    x = zoo.probe_images((16, 16, 3))
    with eager_mode():   # before our graph holds tf-keras layers (tf-keras' eager models are invalid after)
        K = zoo.keras_module(flavour)
        expected = np.asarray(K.Model(eager_model.inputs, eager_model.get_layer("logits").output)(x, training=False))
    model = load_model(path, log=quiet)
    try:
        shapes = model.layer_shapes()
        assert shapes["logits"] == (1, 1, 5)            # the user's conv, not the toolkit's (N, 5) logits
        assert model.architecture.gradcam_layer == "conv_1" and shapes["conv_1"] == (8, 8, 8)
        classes = model.predict(x)
        values, _ = model.layer_values_and_gradients(x, classes, "logits")
        np.testing.assert_allclose(values, expected, atol=1e-5, rtol=0)
        for name in ("gradient", "gradcam", "guided_gradcam", "guided_backprop"):
            masks = methods.get_method(name)(model, x, classes)
            assert masks.shape == x.shape and np.isfinite(masks).all()
    finally:
        model.close()


# ------------------------------------------------------------------------ 2. ConvNeXt: a block output op
@pytest.mark.parametrize("flavour", zoo.FLAVOURS)
def test_gradcam_reads_a_block_output_that_is_no_layer_by_default_and_by_name(tmp_path, flavour):
    eager_model, path = saved(tmp_path, convnext_block, flavour)
    x = zoo.probe_images((16, 16, 3))
    with eager_mode():
        K = zoo.keras_module(flavour)
        expected = np.asarray(K.Model(eager_model.inputs, eager_model.get_layer("head_gap").input)(x, training=False))
        layers = {lay.name for lay in eager_model.layers if type(lay).__name__ != "TFOpLambda"}
    model = load_model(path, log=quiet)
    try:
        layer = model.architecture.gradcam_layer
        assert layer not in layers and layer.startswith(("add", "tf.__operators__.add"))
        assert model.layer_shapes()[layer] == (4, 4, 8)
        classes = model.predict(x)
        values, _ = model.layer_values_and_gradients(x, classes, layer)
        np.testing.assert_allclose(values, expected, atol=1e-5, rtol=0)
        np.testing.assert_array_equal(methods.gradcam(model, x, classes, layer=layer), methods.gradcam(model, x, classes))
        assert not np.array_equal(methods.gradcam(model, x, classes, layer="block_pointwise_2"),
                                  methods.gradcam(model, x, classes))
        shifted, compensated = model.shifted_input_model(-1.0)   # input invariance on ConvNeXt's stem conv
        try:
            assert compensated == "stem/bias"
            np.testing.assert_allclose(shifted.predict_logits(x - 1.0), model.predict_logits(x), rtol=0, atol=1e-5)
        finally:
            shifted.close()
    finally:
        model.close()


# ------------------------------------------------------------------------ 3. input invariance
@pytest.mark.parametrize("flavour", zoo.FLAVOURS)
@pytest.mark.parametrize("build,bias", [(zoo.sequential_cnn, "conv1/bias"), (dense_first, "fc1/bias"),
                                        (preprocessed_cnn, "stem_conv/bias"), (stage_of_two_convs, "block1_conv1/bias")],
                         ids=["conv-first", "dense-first", "rescaling-then-conv", "padding-then-a-stage-of-two-convs"])
def test_input_invariance_compensates_the_first_layers_bias(tmp_path, flavour, build, bias):
    from sanity_checks.checks.input_invariance import check_equivalence

    _, path = saved(tmp_path, build, flavour)
    model = load_model(path, log=quiet)
    shifted = None
    try:
        assert model.guided_equals_gradient == (build is preprocessed_cnn)   # swish only: nothing to guide
        shifted, compensated = model.shifted_input_model(-1.0)
        assert compensated == bias
        low, high = (0.0, 255.0) if build is preprocessed_cnn else (0.0, 1.0)
        x = np.random.default_rng(3).uniform(low, high, (3,) + model.architecture.input_shape).astype(np.float32)
        assert check_equivalence(model, shifted, x, -1.0, 1e-5) < 1e-5
        classes = model.predict(x)
        np.testing.assert_allclose(shifted.input_gradients(x - 1.0, classes), model.input_gradients(x, classes),
                                   rtol=1e-4, atol=1e-6 * np.abs(model.input_gradients(x, classes)).max())
        assert shifted.get_weights()[bias].tolist() == model.get_weights()[bias].tolist()   # variables unchanged
    finally:
        if shifted is not None:
            shifted.close()
        model.close()


def test_input_invariance_on_a_keras_max_pool_cnn_is_kindermans_result(tmp_path):
    """Gradient and Guided BackProp exactly invariant on digit-like images (max-pooling over the zero
    background: ties broken as in the original), Gradient x Input and zero-baseline IG not."""
    from conftest import _digit_like_images
    from sanity_checks.checks import input_invariance

    _, path = saved(tmp_path, zoo.sequential_cnn, zoo.FLAVOURS[0])
    model = load_model(path, log=quiet)
    try:
        result = input_invariance.run(model, _digit_like_images(np.random.default_rng(5), 2), [0, 1], settings={
            "methods": KINDERMANS_WITHOUT_NOISE,
            "method_settings": {"integrated_gradients": {"x_steps": 5}}})
    finally:
        model.close()
    assert_kindermans(result.rows, KINDERMANS_WITHOUT_NOISE)


@pytest.mark.parametrize("flavour", zoo.FLAVOURS)
@pytest.mark.parametrize("build,layer", [(conv_bn_first, "stem"), (lambda K, seed: stage_of_two_convs(K, seed, False),
                                                                   "block1_conv1")], ids=["conv-bn", "xception-stage"])
def test_input_invariance_refuses_a_batch_norm_offset_with_its_reason(tmp_path, flavour, build, layer):
    """The first conv named (not the stage it is in), and its batch norm's offset as the reason."""
    _, path = saved(tmp_path, build, flavour)
    model = load_model(path, log=quiet)
    try:
        with pytest.raises(UnsupportedError, match=rf"bias to be added to its output \(.*reading {layer}\w*/kernel\); "
                                                   rf".*{layer}_bn/beta is used by .*batch-norm offset"):
            model.shifted_input_model(-1.0)
    finally:
        model.close()


# ------------------------------------------------------------------------ 4. the loaded-weights check
def test_probes_in_the_models_range_catch_another_initialization_that_softmax_hides(tmp_path):
    from sanity_checks.keras.assemble import graph_model

    with eager_mode():
        first, second = preprocessed_cnn(zoo.keras_module("keras"), 1), preprocessed_cnn(zoo.keras_module("keras"), 2)
        assert probe_range(first) == (0.0, 255.0) and probe_range(dense_first(zoo.keras_module("keras"), 0)) == (-1, 1)
        snapshot = snapshot_of(first, "keras", "first", "object")
        x = snapshot.probe
        assert x.max() > 100
        assert np.abs(np.asarray(first(x)) - np.asarray(second(x))).max() < 1e-5   # the old check's tolerance
        other = [np.asarray(w) for w in second.get_weights()]
    graph_model(snapshot, log=quiet).close()                                     # its own weights load
    snapshot.weights = other
    with pytest.raises(ModelError, match=r"logits differ from the Keras model's own by [0-9.e+-]+ of their scale"):
        graph_model(snapshot, log=quiet)


# ------------------------------------------------------------------------ 5. no-op blocks
@pytest.mark.parametrize("flavour", zoo.FLAVOURS)
def test_a_layer_with_only_non_trainable_weights_is_no_block_and_a_note_says_so(tmp_path, flavour):
    _, path = saved(tmp_path, normalized, flavour)
    printed = []
    model = load_model(path, log=printed.append)
    try:
        assert model.architecture.block_names == ["dense", "conv"]
        assert [line for line in printed if "normalization" in line] == [
            "note: no block for normalization: all their weights are non-trainable, so randomizing them would "
            "change nothing"]
    finally:
        model.close()


# ------------------------------------------------------------------------ 6. channels-first
@pytest.mark.parametrize("flavour", zoo.FLAVOURS)
def test_channels_first_models_are_refused_in_one_line(tmp_path, flavour):
    eager_model, path = saved(tmp_path, channels_first, flavour)
    for source in (path, eager_model):
        with pytest.raises(ModelError, match=r"layer\(s\) conv compute channels-first .* only channels-last") as err:
            load_model(source, log=quiet)
        assert "\n" not in str(err.value)


# ------------------------------------------------------------------------ 7. blocks by the model's stages
@pytest.mark.parametrize("name, stage", [
    ("conv5_block16_1_conv", "conv5_block16"), ("conv2_block1_0_bn", "conv2_block1"), ("pool2_conv", "pool2"),
    ("convnext_tiny_stage_2_block_4_layernorm", "convnext_tiny_stage_2_block_4"),
    ("convnext_tiny_downsampling_block_0/layer_normalization", "convnext_tiny_downsampling_block_0"),
    ("convnext_tiny_stem/convnext_tiny_stem_conv", "convnext_tiny_stem"), ("block6a_expand_conv", "block6a"), ("block14_sepconv2", "block14"), ("expanded_conv_3_project", "expanded_conv_3"),
    ("expanded_conv_depthwise", "expanded_conv"), ("conv2d_1", "conv2d_1"), ("dense", "dense"), ("conv_1", "conv_1"),
    ("batch_normalization_3", "batch_normalization_3"), ("predictions", "predictions"), ("top_conv", "top_conv")])
def test_stage_of_a_keras_layer_name(name, stage):
    from sanity_checks.stages import stage_of
    assert stage_of(name) == stage


def test_a_densenet_named_model_has_one_block_per_stage_in_forward_order_and_layers_keeps_each_layer(tmp_path):
    _, path = saved(tmp_path, zoo.densenet_like, "keras")
    by_stage = load_model(path, log=quiet)
    by_layer = load_model(path, log=quiet, grouping="layers")
    try:
        assert by_stage.architecture.block_names == [
            "predictions", "bn", "conv3_block1", "pool2", "conv2_block2", "conv2_block1", "conv1_conv"]
        layers = by_layer.architecture.block_names
        assert layers == ["predictions", "bn", "conv3_block1_2_conv", "conv3_block1_1_conv", "conv3_block1_0_bn",
                          "pool2_conv", "pool2_bn", "conv2_block2_2_conv", "conv2_block2_1_conv", "conv2_block2_0_bn",
                          "conv2_block1_2_conv", "conv2_block1_1_conv", "conv2_block1_0_bn", "conv1_conv"]
        for block in by_stage.architecture.blocks:   # each stage holds exactly the variables of its layers
            members = [b for b in by_layer.architecture.blocks if b.name == block.name
                       or b.name.startswith(block.name + "_")]
            assert sorted(block.variables) == sorted(v for b in members for v in b.variables)
        assert "conv1_bn/gamma" in by_stage.architecture.block("conv1_conv").variables
    finally:
        by_stage.close()
        by_layer.close()
