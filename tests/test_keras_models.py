"""A user's Keras model in our graph: every format loads exactly, unsafe files are refused, every
method equals PAIR saliency.core fed by an eager GradientTape, randomization is exact."""
import hashlib

import numpy as np
import pytest

from sanity_checks import methods
from sanity_checks.compat import tf
from sanity_checks.errors import ModelError
from sanity_checks.keras.eager import eager_mode
from sanity_checks.keras.guided import GuidedCoverageWarning
from sanity_checks.loading import load_model

import keras_zoo as zoo

# one pytest worker saves the zoo's models once (make test runs 2 workers)
pytestmark = pytest.mark.xdist_group("keras_models")


@pytest.fixture(scope="module")
def zoo_files(tmp_path_factory):
    """{(kind, flavour): (eager model, {format: path})}, every kind by both Kerases in every format (the
    softmax op in .keras only)."""
    folder = str(tmp_path_factory.mktemp("keras_zoo"))
    out = {}
    with eager_mode():
        for kind in zoo.KINDS:
            for flavour in zoo.FLAVOURS:
                model = zoo.build(kind, flavour, seed=1)
                formats = ["keras"] if kind == "softmax_op" else None   # where the softmax is, not a format matter
                out[kind, flavour] = (model, zoo.save(model, flavour, folder, kind, formats,
                                                      traces=kind != "mobilenet"))
    return out


#: Every kind in every format of both Kerases, and (the Python API) a Keras model object in memory.
#: MobileNetV2 takes 5-20 s per load on 2 busy cores (Keras' own from_config, eagerly and in our graph);
#: its tf-keras SavedModel is written without traces (see keras_zoo.save), the small models' with them.
def formats_of(kind, flavour):
    if kind == "softmax_op":
        return ("keras",)
    return zoo.FORMATS[flavour] + (("object",) if kind == "functional" else ())


CASES = [(kind, flavour, fmt) for kind in zoo.KINDS for flavour in zoo.FLAVOURS for fmt in formats_of(kind, flavour)]


@pytest.fixture(scope="module")
def loaded(zoo_files):
    """Loaded GraphModels by (kind, flavour, format), each loaded once for the module."""
    cache = {}

    def get(kind, flavour, fmt):
        if (kind, flavour, fmt) not in cache:
            eager_model, paths = zoo_files[kind, flavour]
            source = eager_model if fmt == "object" else paths[fmt]
            cache[kind, flavour, fmt] = load_model(source, log=lambda *a: None)
        return cache[kind, flavour, fmt]

    yield get
    for model in cache.values():
        model.close()


@pytest.mark.parametrize("kind,flavour,fmt", CASES, ids=["-".join(c) for c in CASES])
def test_every_format_loads_with_the_keras_models_own_logits(zoo_files, loaded, kind, flavour, fmt):
    eager_model, paths = zoo_files[kind, flavour]
    model = loaded(kind, flavour, fmt)
    x = zoo.probe_images(model.architecture.input_shape)
    with eager_mode():
        expected = zoo.eager_logits(eager_model, x)
    np.testing.assert_allclose(model.predict_logits(x), expected, atol=1e-5, rtol=0)
    assert model.metadata["keras"].startswith(flavour) and model.metadata["format"] == fmt
    stripped = kind in ("sequential", "functional", "softmax_op", "mobilenet")
    assert model.metadata["explained"].startswith("pre-softmax") == stripped
    # every variable with weights belongs to exactly one block
    owned = [n for b in model.architecture.blocks for n in b.variables]
    assert len(owned) == len(set(owned)) == len(eager_model.weights)


def test_derived_blocks_gradcam_layer_and_classes(loaded):
    model = loaded("nested", "keras", "keras")
    arch = model.architecture
    assert arch.input_shape == (16, 16, 3) and arch.num_classes == 4
    # top first, batch norm folded into the convolution feeding it, nested layers under their model
    assert arch.block_names == ["logits_dense", "conv_outer", "inner/conv"]
    assert set(arch.block("conv_outer").variables) == {
        "conv_outer/kernel", "conv_outer/bias", "bn_outer/gamma", "bn_outer/beta", "bn_outer/moving_mean",
        "bn_outer/moving_variance"}
    assert arch.gradcam_layer == "relu_outer"
    functional = loaded("functional", "tf_keras", "h5")
    assert functional.architecture.block_names == ["dense", "top_conv", "branch", "stem"]
    assert functional.architecture.gradcam_layer == "top_conv"   # the Dropout after it passes its input on


def test_blocks_file_groups_layers(zoo_files, tmp_path):
    path = tmp_path / "blocks.json"
    path.write_text('{"head": ["dense"], "body": ["branch", "top_conv"], "stem": ["stem"]}')
    model = load_model(zoo_files["functional", "keras"][1]["keras"], blocks_file=str(path), log=lambda *a: None)
    assert model.architecture.block_names == ["head", "body", "stem"]
    assert set(model.architecture.block("body").variables) == {"branch/kernel", "branch/bias", "top_conv/kernel",
                                                               "top_conv/bias"}
    model.close()
    path.write_text('{"head": ["nothing_like_this"]}')
    with pytest.raises(ModelError, match="match no layer"):
        load_model(zoo_files["functional", "keras"][1]["keras"], blocks_file=str(path), log=lambda *a: None)


def test_wrong_weights_are_refused_with_the_difference(zoo_files, monkeypatch):
    from sanity_checks.model import GraphModel
    monkeypatch.setattr(GraphModel, "set_weights", lambda self, values: None)   # "loaded" = initial weights
    with pytest.raises(ModelError, match=r"logits differ from the Keras model's own by [0-9.e+-]+ of their scale "
                                         r"\(> 0.0001\)"):
        load_model(zoo_files["functional", "keras"][1]["keras"], log=lambda *a: None)


@pytest.mark.parametrize("writer", ["tf.saved_model.save", "Keras 3 export"])
def test_savedmodel_without_keras_metadata_is_refused(zoo_files, tmp_path, writer):
    from sanity_checks.keras.flavours import tf_keras_classes
    path = str(tmp_path / "plain")
    with eager_mode():
        if writer == "tf.saved_model.save":
            eager_model = zoo_files["nested", "tf_keras"][0]
            tf_keras_classes(eager_model, eager=True)
            tf.saved_model.save(eager_model, path)
        else:
            zoo_files["nested", "keras"][0].export(path, verbose=False)
    with pytest.raises(ModelError, match=r"without Keras metadata.*model.save\('model.keras'\)"):
        load_model(path)


@pytest.mark.parametrize("flavour,fmt", [("keras", "keras"), ("keras", "h5"), ("tf_keras", "h5"),
                                         ("tf_keras", "keras"), ("tf_keras", "savedmodel")])
def test_lambda_with_code_is_refused_and_never_runs(tmp_path, flavour, fmt):
    marker = tmp_path / "written_by_the_lambda.txt"
    K = zoo.keras_module(flavour)
    code = f"lambda x: x + 0.0 * len(open({str(marker)!r}, 'w').name)"
    with eager_mode():
        inputs = K.Input((4, 4, 1))
        x = K.layers.Lambda(eval(code), name="sneaky")(inputs)
        model = K.Model(inputs, K.layers.Dense(2)(K.layers.Flatten()(x)))
        path = zoo.save(model, flavour, str(tmp_path), "lambda", [fmt])[fmt]
    marker.unlink()   # building the model ran it once, here in the test
    with pytest.raises(ModelError, match=r"Lambda layer\(s\) sneaky carry Python code.*--trust-model-code"):
        load_model(path)
    assert not marker.exists()
    trusted = load_model(path, trust_model_code=True, log=lambda *a: None)   # the user said so
    assert marker.exists()
    trusted.close()


def test_custom_layer_classes_come_only_from_a_named_module(tmp_path, monkeypatch):
    module = tmp_path / "my_layers.py"
    module.write_text(
        "import keras\n\n"
        "@keras.saving.register_keras_serializable(package='tests')\n"
        "class Doubler(keras.layers.Layer):\n"
        "    def call(self, x):\n"
        "        return 2.0 * x\n")
    import importlib.util
    spec = importlib.util.spec_from_file_location("my_layers", module)
    mine = importlib.util.module_from_spec(spec)
    with eager_mode():
        spec.loader.exec_module(mine)
        import keras
        inputs = keras.Input((4, 4, 1))
        model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(mine.Doubler()(inputs))))
        path = str(tmp_path / "custom.keras")
        model.save(path)
    keras.saving.get_custom_objects().clear()   # a fresh process knows nothing of the class
    with pytest.raises(ModelError, match="--custom-objects-module"):
        load_model(path)
    loaded = load_model(path, custom_objects_module=str(module), log=lambda *a: None)
    x = zoo.probe_images((4, 4, 1))
    with eager_mode():
        expected = np.asarray(model(x))
    np.testing.assert_allclose(loaded.predict_logits(x), expected, atol=1e-5)
    loaded.close()


# ------------------------------------------------------------------------------------ methods vs PAIR core
def eager_call_model_function(eager_model, layer=None):
    """PAIR saliency.core's call_model_function on the eager Keras model, gradients by GradientTape."""
    import saliency.core as sc
    K = zoo.keras_module("tf_keras" if type(eager_model).__module__.startswith("tf_keras") else "keras")
    last = eager_model.layers[-1]
    # pre-softmax logits: a Softmax layer's input, or a softmax Dense's h @ W + b on its input
    dense_softmax = type(last).__name__ == "Dense" and getattr(last.activation, "__name__", None) == "softmax"
    logits_tensor = last.input if type(last).__name__ == "Softmax" or dense_softmax else eager_model.outputs[0]
    outputs = [logits_tensor] + ([eager_model.get_layer(layer).output] if layer else [])
    with eager_mode():
        sub = K.Model(eager_model.inputs, outputs)

    def call(x, call_model_args=None, expected_keys=None):
        c = call_model_args["class_idx"]
        with eager_mode():
            x = tf.convert_to_tensor(np.asarray(x, np.float32))
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                out = sub(x, training=False)
                out = out if isinstance(out, (list, tuple)) else [out]
                logits = tf.matmul(out[0], last.kernel) + last.bias if dense_softmax else out[0]
                score = tf.reduce_sum(logits[:, c])
            result = {}
            if sc.CONVOLUTION_LAYER_VALUES in (expected_keys or ()):
                result[sc.CONVOLUTION_LAYER_VALUES] = out[1].numpy()
                result[sc.CONVOLUTION_OUTPUT_GRADIENTS] = tape.gradient(score, out[1]).numpy()
            else:
                result[sc.INPUT_OUTPUT_GRADIENTS] = tape.gradient(score, x).numpy()
            return result

    return call


@pytest.fixture(scope="module")
def functional_pair(zoo_files, loaded):
    return loaded("functional", "keras", "keras"), zoo_files["functional", "keras"][0]


def assert_close(ours, theirs, tol=1e-5):
    theirs = np.asarray(theirs, np.float32)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * max(float(np.abs(theirs).max()), 1e-12))


def test_every_method_equals_pair_core_with_an_eager_gradient_tape(functional_pair, monkeypatch):
    import saliency.core as sc
    from test_methods import NoiseFeeder

    model, eager_model = functional_pair
    x = zoo.probe_images((16, 16, 3), n=2, seed=9)
    classes = model.predict(x)
    call = eager_call_model_function(eager_model)

    def pair(get_mask, **kwargs):
        return np.stack([get_mask(image, call, call_model_args={"class_idx": int(c)}, **kwargs)
                         for image, c in zip(x, classes)])

    assert_close(methods.gradient(model, x), pair(sc.GradientSaliency().GetMask))
    assert_close(methods.gradient_x_input(model, x), pair(sc.GradientSaliency().GetMask) * x)
    assert_close(methods.integrated_gradients(model, x, x_steps=20),
                 pair(sc.IntegratedGradients().GetMask, x_steps=20, x_baseline=np.zeros_like(x[0]), batch_size=20))
    layer = model.architecture.gradcam_layer
    layer_call = eager_call_model_function(eager_model, layer)
    expected = np.stack([sc.GradCam().GetMask(image, layer_call, call_model_args={"class_idx": int(c)},
                                              three_dims=False) for image, c in zip(x, classes)])
    assert_close(methods.gradcam(model, x, resize="skimage"), np.repeat(expected[..., None], 3, axis=-1))
    nsamples = 6
    noise = methods.smoothing_noise(x, nsamples, 0.15, seed=4)
    feeder = NoiseFeeder(monkeypatch)
    expected = []
    for image, c, image_noise in zip(x, classes, noise):
        feeder.samples, feeder.sigma = iter(image_noise), 0.15 * (image.max() - image.min())
        expected.append(sc.GradientSaliency().GetSmoothedMask(image, call, call_model_args={"class_idx": int(c)},
                                                              stdev_spread=0.15, nsamples=nsamples, magnitude=False))
    assert_close(methods.smoothgrad(model, x, nsamples=nsamples, seed=4), np.stack(expected))
    nsamples, x_steps = 3, 5
    noise = methods.smoothing_noise(x, nsamples, 0.15, seed=6)
    expected = []
    for image, c, image_noise in zip(x, classes, noise):
        feeder.samples, feeder.sigma = iter(image_noise), 0.15 * (image.max() - image.min())
        expected.append(sc.IntegratedGradients().GetSmoothedMask(
            image, call, call_model_args={"class_idx": int(c)}, stdev_spread=0.15, nsamples=nsamples,
            magnitude=False, x_steps=x_steps, x_baseline=np.zeros_like(image), batch_size=x_steps))
    assert_close(methods.ig_smoothgrad(model, x, nsamples=nsamples, x_steps=x_steps, seed=6), np.stack(expected))
    # VarGrad as the original's utils.vargrad: the variance of the gradients at x + noise
    noise = methods.smoothing_noise(x, 4, 0.15, seed=8)
    expected = np.stack([np.var([sc.GradientSaliency().GetMask(image + n, call, call_model_args={"class_idx": int(c)})
                                 for n in image_noise], axis=0) for image, c, image_noise in zip(x, classes, noise)])
    assert_close(methods.vargrad(model, x, nruns=4, seed=8), expected)


def test_guided_tower_covers_relu6_and_leaky_relu_and_never_passes_negative_gradients(functional_pair):
    model, _ = functional_pair
    graph = model.graph
    with graph.as_default():
        model.input_gradients(np.zeros((1, 16, 16, 3), np.float32), 0, guided=True)   # builds the tower
        guided_ops = [op for op in graph.get_operations() if op.name.startswith("guided/")
                      and "gradients" not in op.name and op.type in ("Relu", "Relu6", "LeakyRelu")]
        assert sorted({op.type for op in guided_ops}) == ["LeakyRelu", "Relu", "Relu6"]
        loss = model._class_logit_sum(model._guided_logits)
        grads = tf.gradients(loss, [op.inputs[0] for op in guided_ops])
    x = zoo.probe_images((16, 16, 3), n=3, seed=2)
    values = model.session.run(grads, {model.inputs: x, model.classes: model.predict(x)})
    for op, g in zip(guided_ops, values):
        assert g.min() >= 0, op.name
        assert np.abs(g).max() > 0, op.name


def test_guided_backprop_and_guided_gradcam_equal_pair_on_a_relu_only_model(zoo_files, loaded, tmp_path):
    import saliency.tf1 as pair_tf1
    model = loaded("sequential", "keras", "keras")
    x = zoo.probe_images((28, 28, 1), n=2, seed=3)
    classes = model.predict(x)
    with model.graph.as_default():
        selector = tf.compat.v1.placeholder(tf.int32, [])
        y = model.logits[0][selector]
    guided = pair_tf1.GuidedBackprop(model.graph, model.session, y, model.inputs,
                                     tmp_ckpt_path=str(tmp_path / "guided_ckpt"))
    expected = np.stack([guided.GetMask(image, feed_dict={selector: int(c)}) for image, c in zip(x, classes)])
    assert_close(methods.guided_backprop(model, x), expected)
    # Guided GradCAM: that guided mask times PAIR core's GradCAM on the eager model
    import saliency.core as sc
    layer_call = eager_call_model_function(zoo_files["sequential", "keras"][0], model.architecture.gradcam_layer)
    gradcam = np.stack([sc.GradCam().GetMask(image, layer_call, call_model_args={"class_idx": int(c)}, three_dims=False)
                        for image, c in zip(x, classes)])
    assert_close(methods.guided_gradcam(model, x, resize="skimage"), expected * gradcam[..., None])


def test_unguided_activations_are_named_in_a_warning(tmp_path):
    import keras
    with eager_mode():
        inputs = keras.Input((8, 8, 1))
        x = keras.layers.Conv2D(2, 3, activation="elu", name="elu_conv")(inputs)
        x = keras.layers.PReLU(name="prelu")(x)
        model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    with pytest.warns(GuidedCoverageWarning, match=r"elu_conv \(elu\), prelu \(PReLU\)"):
        loaded = load_model(model, log=lambda *a: None)
    loaded.close()


# ------------------------------------------------------------------------------------ randomization
def test_randomization_changes_exactly_its_blocks_and_draws_from_each_initializer(zoo_files, loaded):
    from sanity_checks.randomize import Randomizer

    eager_model, paths = zoo_files["mobilenet", "keras"]
    before = hashlib.sha256(open(paths["keras"], "rb").read()).hexdigest()
    model = loaded("mobilenet", "keras", "keras")
    trainable = {v.op.name for v in model.variables if v.trainable}
    randomizer = Randomizer(model, seed=3)
    steps = randomizer.steps("cascading")
    assert len(steps) == len(model.architecture.blocks) + 1
    previous = randomizer.snapshot
    for step in steps[1:4] + steps[-1:]:
        randomizer.randomize(step.blocks)
        now = model.get_weights()
        changed = {n for n in now if not np.array_equal(now[n], randomizer.snapshot[n])}
        expected = {n for b in step.blocks for n in model.architecture.block(b).variables if n in trainable}
        # every trainable variable of the blocks changed, nothing else did; moving statistics stay
        assert changed == expected
        # cascading: the blocks of the step before keep their values
        for n in changed & {k for k in previous if not np.array_equal(previous[k], randomizer.snapshot[k])}:
            np.testing.assert_array_equal(now[n], previous[n])
        previous = now
    weights = model.get_weights()
    kernel = weights["predictions/kernel"]     # glorot uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out))
    limit = np.sqrt(6.0 / sum(kernel.shape))
    assert np.abs(kernel).max() <= limit and kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    assert abs(kernel.mean()) < 4 * kernel.std() / np.sqrt(kernel.size)   # mean 0 within sampling error
    np.testing.assert_array_equal(weights["predictions/bias"], 0)
    conv = weights["Conv1/kernel"]
    fan_in, fan_out = np.prod(conv.shape[:3]), np.prod(conv.shape[:2]) * conv.shape[3]
    assert conv.std() == pytest.approx(np.sqrt(6.0 / (fan_in + fan_out)) / np.sqrt(3), rel=0.1)
    assert abs(conv.mean()) < 4 * conv.std() / np.sqrt(conv.size)
    np.testing.assert_array_equal(weights["bn_Conv1/gamma"], 1)
    np.testing.assert_array_equal(weights["bn_Conv1/moving_mean"], randomizer.snapshot["bn_Conv1/moving_mean"])
    randomizer.restore()
    assert all(np.array_equal(v, randomizer.snapshot[k]) for k, v in model.get_weights().items())
    assert hashlib.sha256(open(paths["keras"], "rb").read()).hexdigest() == before


def test_cascading_equals_a_slow_reference_that_rebuilds_the_model_per_step(zoo_files, loaded):
    """Per step: a fresh eager Keras model from the file, the step's blocks re-drawn with the same seeds,
    masks by GradientTape; our in-memory cascade must give the same gradients."""
    import saliency.core as sc

    from sanity_checks.experiments import model_randomization
    from sanity_checks.randomize import Strategy, variable_rng

    eager_model, paths = zoo_files["functional", "tf_keras"]
    path = paths["h5"]
    model = loaded("functional", "tf_keras", "h5")
    x = zoo.probe_images((16, 16, 3), n=2, seed=11)
    result = model_randomization.run(model, x, methods=["gradient"], metrics=["spearman_abs"], seed=5,
                                     fixed_class=True, keep_masks=len(x), progress=False)
    classes = result.classes["original"]
    graph_names = [w.op.name for w in model.keras_weight_variables]
    trainable = {v.op.name for v in model.variables if v.trainable}
    import tf_keras
    for step in result.steps:
        with eager_mode():
            fresh = tf_keras.models.load_model(path, compile=False)
            values = fresh.get_weights()
            for i, name in enumerate(graph_names):
                if name in trainable and any(name in model.architecture.block(b).variables for b in step.blocks):
                    values[i] = Strategy().perturb(name, values[i], variable_rng(5, name),
                                                lambda seed: model.initial_value(name, seed))
            fresh.set_weights(values)
        call = eager_call_model_function(fresh)
        expected = np.stack([sc.GradientSaliency().GetMask(image, call, call_model_args={"class_idx": int(c)})
                             for image, c in zip(x, classes)])
        assert_close(result.masks[step.label]["gradient"], expected)
