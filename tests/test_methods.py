"""Explanation methods: equal to PAIR saliency 0.2.1's TF1 classes image by image, analytic answers
on a linear model, seeding, default classes, degenerate masks, the registry and compute_masks.

A note on noise seeds in the PAIR comparisons. TensorFlow computes a batch of 150 images and a
batch of one with different kernels, which round differently (~1e-7). About one noisy input in a
thousand puts two max-pool inputs (or a ReLU input) within that rounding of a tie, and its
gradient then takes another path in the batch than alone: that is float rounding, not method
logic, and PAIR itself would differ between batch sizes. The smoothing tests therefore use the
first seed whose noisy inputs all get the same gradient in our batch as alone
(:func:`stable_seed`), and then ask for 1e-5 agreement.
"""
import warnings

import numpy as np
import pytest
import saliency.tf1 as pair

from sanity_checks.compat import tf, tf1
from sanity_checks.errors import SanityCheckError
from sanity_checks.model import GraphModel
from sanity_checks.models import Architecture, Block
from sanity_checks import methods
from sanity_checks.methods import base as methods_base
from sanity_checks.methods.gradcam import gradcam_maps

GRADCAM_LAYER = "hidden2_hconv_act"


# ------------------------------------------------------------------------------------ PAIR baseline
class Pair:
    """PAIR's TF1 classes over a GraphModel's graph and session, one image per call (the baseline).

    As the original wrapper: ``y = logits[0][neuron_selector]``, ``x = model.inputs``,
    feed_dict ``{neuron_selector: class}``.
    """

    def __init__(self, model, checkpoint, layer=None):
        self.model = model
        self.checkpoint = checkpoint
        with model.graph.as_default():
            self.selector = tf1.placeholder(tf.int32, [])
            self.y = model.logits[0][self.selector]
        args = (model.graph, model.session, self.y, model.inputs)
        self.gradient = pair.GradientSaliency(*args)
        self.ig = pair.IntegratedGradients(*args)
        self.gradcam = pair.GradCam(*args, conv_layer=model.end_points[layer]) if layer else None

    def guided_backprop(self):
        """Built now: PAIR copies the graph and the weights the session holds at this moment."""
        return pair.GuidedBackprop(self.model.graph, self.model.session, self.y, self.model.inputs,
                                   tmp_ckpt_path=self.checkpoint)

    def masks(self, get_mask, x, classes, **kwargs):
        """``get_mask(image, feed_dict=..., **kwargs)`` for each image, stacked."""
        return np.stack([get_mask(image, feed_dict={self.selector: int(c)}, **kwargs)
                         for image, c in zip(x, classes)])


class NoiseFeeder:
    """Replaces ``np.random.normal`` (as PAIR's GetSmoothedMask calls it) by our noise samples, in order."""

    def __init__(self, monkeypatch):
        self.samples = iter(())
        self.sigma = None
        monkeypatch.setattr(np.random, "normal", self._normal)

    def _normal(self, loc, scale, size):
        assert loc == 0 and scale == self.sigma, (loc, scale, self.sigma)
        sample = next(self.samples)
        assert sample.shape == tuple(size)
        return sample

    def smoothed(self, pair_obj, get_smoothed, x, classes, noise, stdev_spread=0.15, **kwargs):
        """PAIR ``GetSmoothedMask`` per image, fed ``noise`` (N, S, H, W, C)."""
        out = []
        for image, c, image_noise in zip(x, classes, noise):
            self.samples = iter(image_noise)
            self.sigma = stdev_spread * (np.max(image) - np.min(image))
            out.append(get_smoothed(image, feed_dict={pair_obj.selector: int(c)}, stdev_spread=stdev_spread,
                                    nsamples=len(image_noise), **kwargs))
            assert next(self.samples, None) is None, "PAIR drew fewer samples than we did"
        return np.stack(out)


def stable_seed(model, x, nsamples, stdev_spread, x_steps=None, first=100, tries=20):
    """The first seed from ``first`` whose model inputs (noisy copies, or IG path points on them)
    get the same gradient in one batch, as our methods run them, as one by one, as PAIR runs them."""
    classes = model.predict(x)
    for seed in range(first, first + tries):
        inputs = x[:, None] + methods.smoothing_noise(x, nsamples, stdev_spread, seed)   # (N, S, H, W, C)
        reps = nsamples
        if x_steps:
            alphas = np.linspace(0, 1, x_steps).reshape(1, 1, x_steps, 1, 1, 1)
            inputs, reps = alphas * inputs[:, :, None], nsamples * x_steps
        inputs = inputs.reshape((-1,) + x.shape[1:])
        inputs_classes = np.repeat(classes, reps)
        batched = model.input_gradients(inputs, inputs_classes)
        alone = np.concatenate([model.input_gradients(inputs[i:i + 1], inputs_classes[i:i + 1])
                                for i in range(len(inputs))])
        if np.abs(batched - alone).max() <= 1e-6 * np.abs(alone).max():
            return seed
    pytest.fail(f"no seed in {first}..{first + tries - 1} without a near-tie; is the model's batching broken?")


def assert_matches(ours, theirs, rtol=1e-5):
    """Equal to within ``rtol`` relative, ``rtol * max|theirs|`` absolute (for values near zero)."""
    theirs = np.asarray(theirs, np.float32)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * float(np.abs(theirs).max()))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return str(tmp_path_factory.mktemp("pair") / "guided_backprop_ckpt")


@pytest.fixture(scope="module")
def pair_cnn(random_cnn, checkpoint):
    return Pair(random_cnn, checkpoint, layer=GRADCAM_LAYER)


@pytest.fixture(scope="module")
def pair_mlp(random_mlp, checkpoint):
    return Pair(random_mlp, checkpoint)


@pytest.fixture(params=["cnn", "mlp"])
def model_and_pair(request):
    """(model, its Pair) for the CNN and the MLP."""
    kind = request.param
    return request.getfixturevalue(f"random_{kind}"), request.getfixturevalue(f"pair_{kind}")


@pytest.fixture
def fresh_cnn():
    """A CNN of its own, for tests that change weights."""
    model = GraphModel("cnn", seed=11)
    yield model
    model.close()


def _load(model, name, value):
    """Assign ``value`` to variable ``name`` in the model's session."""
    var = next(v for v in model.variables if v.op.name == name)
    var.load(np.broadcast_to(value, var.shape.as_list()).astype(np.float32), model.session)


# ------------------------------------------------------------------------------------ equal to PAIR
def test_gradient_equals_pair(model_and_pair, random_digits):
    model, base = model_and_pair
    classes = model.predict(random_digits)
    assert_matches(methods.gradient(model, random_digits), base.masks(base.gradient.GetMask, random_digits, classes))


def test_gradient_x_input_equals_pair_gradient_times_input(model_and_pair, random_digits):
    model, base = model_and_pair
    classes = model.predict(random_digits)
    expected = base.masks(base.gradient.GetMask, random_digits, classes) * random_digits
    assert_matches(methods.gradient_x_input(model, random_digits), expected)


def test_integrated_gradients_equal_pair(model_and_pair, random_digits):
    model, base = model_and_pair
    classes = model.predict(random_digits)
    expected = base.masks(base.ig.GetMask, random_digits, classes, x_steps=50, x_baseline=None)
    assert_matches(methods.integrated_gradients(model, random_digits), expected)


def test_guided_backprop_equals_pair(model_and_pair, random_digits):
    model, base = model_and_pair
    classes = model.predict(random_digits)
    expected = base.masks(base.guided_backprop().GetMask, random_digits, classes)
    assert_matches(methods.guided_backprop(model, random_digits), expected)


def test_gradcam_equals_pair(random_cnn, pair_cnn, random_digits):
    classes = random_cnn.predict(random_digits)
    expected = pair_cnn.masks(pair_cnn.gradcam.GetMask, random_digits, classes, three_dims=False)
    ours = methods.gradcam(random_cnn, random_digits, resize="skimage")   # PAIR 0.2.1's upsampling
    assert_matches(ours, expected[..., None])
    assert 0 <= ours.min() and ours.max() <= 1
    # three_dims: the same map in every channel (PAIR always tiles to 3, we tile to the input's C)
    tiled = pair_cnn.masks(pair_cnn.gradcam.GetMask, random_digits, classes, three_dims=True)
    np.testing.assert_array_equal(tiled, np.repeat(expected[..., None], 3, axis=-1))


def test_gradcam_tf1_bilinear_resize_is_pair_0_0_4s(random_cnn, random_digits):
    """The original ran PAIR 0.0.4, whose GradCAM upsampled with tf.image.resize_bilinear: our default."""
    classes = random_cnn.predict(random_digits)
    values, grads = random_cnn.layer_values_and_gradients(random_digits, classes, GRADCAM_LAYER)
    maps = gradcam_maps(values, grads)
    with tf.Graph().as_default(), tf1.Session() as session:
        expected = session.run(tf1.image.resize_bilinear(maps[..., None], (28, 28)))
    ours = methods.gradcam(random_cnn, random_digits, resize="tf1_bilinear")
    assert_matches(ours, expected)
    np.testing.assert_array_equal(methods.gradcam(random_cnn, random_digits), ours)
    assert not np.allclose(ours, methods.gradcam(random_cnn, random_digits, resize="skimage"), atol=1e-2)
    with pytest.raises(SanityCheckError, match="valid: skimage, tf1_bilinear"):
        methods.gradcam(random_cnn, random_digits, resize="nearest")


def test_guided_gradcam_equals_pair_product(random_cnn, pair_cnn, random_digits):
    classes = random_cnn.predict(random_digits)
    expected = (pair_cnn.masks(pair_cnn.guided_backprop().GetMask, random_digits, classes)
                * pair_cnn.masks(pair_cnn.gradcam.GetMask, random_digits, classes, three_dims=False)[..., None])
    assert_matches(methods.guided_gradcam(random_cnn, random_digits, resize="skimage"), expected)


@pytest.mark.parametrize("magnitude", [False, True])
def test_smoothgrad_equals_pair_with_the_same_noise(model_and_pair, random_digits, monkeypatch, magnitude):
    model, base = model_and_pair
    classes = model.predict(random_digits)
    nsamples = 50 if not magnitude else 10
    seed = stable_seed(model, random_digits, nsamples, 0.15)
    noise = methods.smoothing_noise(random_digits, nsamples, 0.15, seed=seed)
    expected = NoiseFeeder(monkeypatch).smoothed(base, base.gradient.GetSmoothedMask, random_digits, classes,
                                                  noise, magnitude=magnitude)
    ours = methods.smoothgrad(model, random_digits, nsamples=nsamples, magnitude=magnitude, seed=seed)
    assert_matches(ours, expected)


def test_ig_smoothgrad_equals_pair_with_the_same_noise(model_and_pair, random_digits, monkeypatch):
    model, base = model_and_pair
    classes = model.predict(random_digits)
    seed = stable_seed(model, random_digits, 3, 0.2, x_steps=10)
    noise = methods.smoothing_noise(random_digits, 3, 0.2, seed=seed)
    expected = NoiseFeeder(monkeypatch).smoothed(base, base.ig.GetSmoothedMask, random_digits, classes, noise,
                                                  stdev_spread=0.2, magnitude=False, x_steps=10, x_baseline=None)
    ours = methods.ig_smoothgrad(model, random_digits, nsamples=3, stdev_spread=0.2, x_steps=10, seed=seed)
    assert_matches(ours, expected)


def test_vargrad_equals_the_original_loop(random_cnn, pair_cnn, random_digits):
    """The original ``utils.vargrad``: np.var of GetMask at x + noise over nruns, per image."""
    classes = random_cnn.predict(random_digits)
    seed = stable_seed(random_cnn, random_digits, 25, 0.15)
    noise = methods.smoothing_noise(random_digits, 25, 0.15, seed=seed)
    expected = np.stack([np.var([pair_cnn.gradient.GetMask(image + n, feed_dict={pair_cnn.selector: int(c)})
                                 for n in image_noise], axis=0)
                         for image, c, image_noise in zip(random_digits, classes, noise)])
    assert_matches(methods.vargrad(random_cnn, random_digits, seed=seed), expected)


# ------------------------------------------------------------------------------------ noise
def test_noise_is_the_documented_draw(random_digits):
    noise = methods.smoothing_noise(random_digits, 4, 0.15, seed=1)
    z = np.stack([np.random.default_rng(np.random.SeedSequence([1, i])).standard_normal((4, 28, 28, 1))
                  for i in range(3)])
    sigma = np.float32(0.15) * (random_digits.max(axis=(1, 2, 3)) - random_digits.min(axis=(1, 2, 3)))
    np.testing.assert_array_equal(noise, z * sigma.astype(np.float64)[:, None, None, None, None])
    # a Generator as seed: one (N, S, H, W, C) stream for the batch
    z = np.random.default_rng(1).standard_normal((3, 4, 28, 28, 1))
    np.testing.assert_array_equal(methods.smoothing_noise(random_digits, 4, 0.15, seed=np.random.default_rng(1)),
                                  z * sigma.astype(np.float64)[:, None, None, None, None])


def test_an_images_noise_depends_on_its_id_not_on_its_batch(random_cnn, random_digits):
    whole = methods.smoothing_noise(random_digits, 3, 0.15, seed=(4, 2))
    np.testing.assert_array_equal(methods.smoothing_noise(random_digits[2:], 3, 0.15, seed=(4, 2), image_ids=[2]),
                                  whole[2:])
    np.testing.assert_array_equal(methods.smoothing_noise(random_digits[[2, 0]], 3, 0.15, seed=(4, 2),
                                                          image_ids=[2, 0]), whole[[2, 0]])
    assert not np.allclose(methods.smoothing_noise(random_digits, 3, 0.15, seed=(4, 3)), whole)
    masks = methods.compute_masks(random_cnn, random_digits, ["smoothgrad", "vargrad"], seed=4,
                                  settings={"smoothgrad": {"nsamples": 3}, "vargrad": {"nruns": 3}})
    alone = methods.compute_masks(random_cnn, random_digits[1:2], ["smoothgrad", "vargrad"], seed=4, image_ids=[1],
                                  settings={"smoothgrad": {"nsamples": 3}, "vargrad": {"nruns": 3}})
    for name in masks:   # batch shapes change TensorFlow's rounding (~1e-7), not the noise
        np.testing.assert_allclose(alone[name], masks[name][1:2], rtol=1e-5, atol=1e-6 * np.abs(masks[name]).max())
    with pytest.raises(SanityCheckError, match="one image id per image"):
        methods.smoothing_noise(random_digits, 3, image_ids=[0, 1])


def test_chunking_does_not_change_noise_or_masks(random_cnn, random_digits, monkeypatch):
    whole = methods.smoothgrad(random_cnn, random_digits, nsamples=4, seed=2)
    whole_ig = methods.ig_smoothgrad(random_cnn, random_digits, nsamples=2, x_steps=3, seed=2)
    noise = methods.smoothing_noise(random_digits, 4, 0.15, seed=2)
    monkeypatch.setattr(methods_base, "MAX_CHUNK_ELEMENTS", 784)   # one image per chunk
    np.testing.assert_array_equal(methods.smoothing_noise(random_digits, 4, 0.15, seed=2), noise)
    np.testing.assert_allclose(methods.smoothgrad(random_cnn, random_digits, nsamples=4, seed=2), whole,
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(methods.ig_smoothgrad(random_cnn, random_digits, nsamples=2, x_steps=3, seed=2),
                               whole_ig, rtol=1e-6, atol=1e-6 * np.abs(whole_ig).max())   # batch-shape rounding


def test_same_seed_same_masks_other_seed_other_masks(random_cnn, random_digits):
    a = methods.smoothgrad(random_cnn, random_digits, nsamples=5, seed=0)
    np.testing.assert_array_equal(a, methods.smoothgrad(random_cnn, random_digits, nsamples=5, seed=0))
    g = methods.smoothgrad(random_cnn, random_digits, nsamples=5, seed=np.random.default_rng(0))
    np.testing.assert_array_equal(g, methods.smoothgrad(random_cnn, random_digits, nsamples=5,
                                                        seed=np.random.default_rng(0)))
    assert not np.allclose(a, methods.smoothgrad(random_cnn, random_digits, nsamples=5, seed=1))
    v = methods.vargrad(random_cnn, random_digits, nruns=5, seed=4)
    np.testing.assert_array_equal(v, methods.vargrad(random_cnn, random_digits, nruns=5, seed=4))
    with pytest.raises(SanityCheckError, match="seed"):
        methods.smoothgrad(random_cnn, random_digits, nsamples=2, seed="zero")


def test_global_numpy_random_state_is_untouched(random_cnn, random_digits):
    state = np.random.get_state()[1].copy()
    methods.compute_masks(random_cnn, random_digits[:1], ["smoothgrad", "vargrad"],
                          settings={"smoothgrad": {"nsamples": 2}, "vargrad": {"nruns": 2}})
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# ------------------------------------------------------------------------------------ analytic
@pytest.fixture(scope="module")
def linear():
    """logits = flatten(x) @ W for x (N, 4, 4, 1), W (16, 3) known; batch_size 7 forces uneven chunks."""
    weights = np.random.default_rng(42).normal(size=(16, 3)).astype(np.float32)

    def build(inputs):
        with tf1.variable_scope("linear"):
            w = tf1.get_variable("weights", [16, 3], initializer=tf1.constant_initializer(weights))
            logits = tf.matmul(tf.reshape(inputs, [-1, 16]), w)
        return logits, {"logits": logits}

    arch = Architecture(name="linear", build=build, input_shape=(4, 4, 1), num_classes=3,
                        blocks=(Block("linear", "linear"),), batch_size=7)
    model = GraphModel(arch)
    x = np.random.default_rng(43).uniform(0, 1, (5, 4, 4, 1)).astype(np.float32)
    yield model, weights, x
    model.close()


def test_linear_gradient_is_the_weight_column(linear):
    model, w, x = linear
    classes = np.array([0, 1, 2, 1, 0])
    expected = w[:, classes].T.reshape(5, 4, 4, 1)
    np.testing.assert_allclose(methods.gradient(model, x, classes), expected, rtol=1e-6)
    np.testing.assert_allclose(methods.guided_backprop(model, x, classes), expected, rtol=1e-6)
    np.testing.assert_allclose(methods.smoothgrad(model, x, classes), expected, rtol=1e-5)
    np.testing.assert_allclose(methods.smoothgrad(model, x, classes, magnitude=True), expected ** 2, rtol=1e-5)
    np.testing.assert_allclose(methods.integrated_gradients(model, x, classes), expected * x, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(methods.integrated_gradients(model, x, classes, x_steps=7, baseline=0.5),
                               expected * (x - 0.5), rtol=1e-5, atol=1e-7)


def test_linear_ig_smoothgrad_is_weights_times_mean_noisy_input(linear):
    model, w, x = linear
    classes = np.array([2, 2, 0, 1, 1])
    noise = methods.smoothing_noise(x, 4, 0.15, seed=0)
    expected = w[:, classes].T.reshape(5, 4, 4, 1) * (x + noise.mean(axis=1))
    np.testing.assert_allclose(methods.ig_smoothgrad(model, x, classes, nsamples=4, x_steps=5, seed=0),
                               expected, rtol=1e-5, atol=1e-6)


def test_linear_vargrad_is_zero(linear):
    model, _, x = linear
    masks = methods.vargrad(model, x, 1, nruns=3)
    assert masks.shape == x.shape and masks.dtype == np.float32
    np.testing.assert_allclose(masks, 0, atol=1e-12)   # the gradient does not depend on the input


# ------------------------------------------------------------------------------------ weights and classes
def test_guided_backprop_sees_new_weights(fresh_cnn, random_digits, checkpoint):
    classes = np.array([1, 2, 3])
    before = methods.guided_backprop(fresh_cnn, random_digits, classes)
    new = np.random.default_rng(0).normal(0, 0.05, (3136, 1024))
    _load(fresh_cnn, "fc1/weights", new)
    after = methods.guided_backprop(fresh_cnn, random_digits, classes)
    assert not np.allclose(before, after)
    base = Pair(fresh_cnn, checkpoint)
    assert_matches(after, base.masks(base.guided_backprop().GetMask, random_digits, classes))


def test_default_class_is_the_current_argmax(fresh_cnn, random_digits):
    logits = fresh_cnn.predict_logits(random_digits)
    np.testing.assert_array_equal(methods.resolve_classes(fresh_cnn, random_digits), logits.argmax(axis=1))
    np.testing.assert_array_equal(methods.gradient(fresh_cnn, random_digits),
                                  methods.gradient(fresh_cnn, random_digits, logits.argmax(axis=1)))
    _load(fresh_cnn, "softmax_linear/biases", np.eye(10)[4] * 1e4)   # now every image's top class is 4
    np.testing.assert_array_equal(methods.resolve_classes(fresh_cnn, random_digits), [4, 4, 4])
    np.testing.assert_array_equal(methods.gradient(fresh_cnn, random_digits),
                                  methods.gradient(fresh_cnn, random_digits, 4))
    np.testing.assert_array_equal(methods.gradient(fresh_cnn, random_digits, [4, 4, 4]),
                                  methods.gradient(fresh_cnn, random_digits, 4))


def test_gradcam_of_a_dead_layer_is_zero_with_a_warning(fresh_cnn, random_digits):
    _load(fresh_cnn, "hidden2/weights", 0.0)
    _load(fresh_cnn, "hidden2/biases", 0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        masks = methods.compute_masks(fresh_cnn, random_digits, ["gradcam", "guided_gradcam"])
    said = [str(w.message) for w in caught if issubclass(w.category, methods.DegenerateMaskWarning)]
    assert any(m.startswith("gradcam: ReLU(sum_k alpha_k A_k) is all zero for image(s) [0, 1, 2]") for m in said)
    for name, m in masks.items():
        assert m.shape == random_digits.shape and np.isfinite(m).all() and not m.any(), name


# ------------------------------------------------------------------------------------ registry
def test_registry_names_labels_and_original_settings(random_cnn, random_mlp):
    names = ["gradient", "gradient_x_input", "integrated_gradients", "guided_backprop", "gradcam",
             "guided_gradcam", "smoothgrad", "ig_smoothgrad", "vargrad", "edge"]
    assert list(methods.METHODS)[:10] == names and list(methods.LABELS)[:10] == names
    assert {"xrai", "guided_ig", "blur_ig", "captum_deeplift", "zennit_epsilon_plus"} <= set(methods.METHODS)
    assert methods.LABELS["gradient_x_input"] == "Gradient⊙Input"
    assert methods.LABELS["guided_backprop"] == "Guided BackProp"
    d = methods.DEFAULT_SETTINGS
    assert d["integrated_gradients"] == {"x_steps": 50, "baseline": None}
    assert d["smoothgrad"] == {"stdev_spread": 0.15, "nsamples": 50, "magnitude": False}
    assert d["ig_smoothgrad"]["nsamples"] == 25 and d["ig_smoothgrad"]["x_steps"] == 50
    assert d["vargrad"] == {"stdev_spread": 0.15, "nruns": 25}
    assert methods.available_methods(random_cnn) == names
    assert methods.available_methods(random_mlp) == [n for n in names if "gradcam" not in n]


def test_unknown_names_and_unsupported_methods_raise(random_cnn, random_mlp, random_digits):
    with pytest.raises(SanityCheckError, match="valid methods: gradient, gradient_x_input"):
        methods.get_method("saliency")
    with pytest.raises(SanityCheckError, match="valid methods"):
        methods.compute_masks(random_cnn, random_digits, ["gradient", "smoothgrad2"])
    with pytest.raises(SanityCheckError, match="valid settings: stdev_spread, nsamples, magnitude"):
        methods.compute_masks(random_cnn, random_digits, ["smoothgrad"], settings={"smoothgrad": {"n": 3}})
    with pytest.raises(SanityCheckError, match="no gradcam_layer"):
        methods.gradcam(random_mlp, random_digits)
    with pytest.raises(SanityCheckError, match="GradCAM"):
        methods.compute_masks(random_mlp, random_digits, ["gradient", "guided_gradcam"])
    with pytest.raises(SanityCheckError, match="unknown layer"):
        methods.gradcam(random_cnn, random_digits, layer="conv9")
    with pytest.raises(SanityCheckError, match="convolutional"):
        methods.gradcam(random_cnn, random_digits, layer="fc1")


def test_compute_masks_shares_parts_and_equals_single_calls(random_cnn, random_digits, monkeypatch):
    calls = []
    for name in ("input_gradients", "layer_values_and_gradients", "predict"):
        original = getattr(random_cnn, name)
        monkeypatch.setattr(random_cnn, name,
                            lambda *a, _f=original, _n=name, **k: calls.append((_n, k.get("guided", False))) or _f(*a, **k))
    asked = ["gradient_x_input", "guided_gradcam", "gradient", "guided_backprop", "gradcam"]
    masks = methods.compute_masks(random_cnn, random_digits, asked)
    assert list(masks) == asked
    assert sorted(calls) == sorted([("predict", False), ("input_gradients", False), ("input_gradients", True),
                                    ("layer_values_and_gradients", False)])
    monkeypatch.undo()
    for name in asked:
        np.testing.assert_allclose(masks[name], methods.METHODS[name](random_cnn, random_digits), rtol=1e-6, atol=1e-8)


def test_compute_masks_settings_and_seeds(random_mlp, random_digits):
    settings = {"smoothgrad": {"nsamples": 3}, "vargrad": {"nruns": 3}, "integrated_gradients": {"x_steps": 4}}
    masks = methods.compute_masks(random_mlp, random_digits, ["vargrad", "smoothgrad", "integrated_gradients"],
                                  classes=2, seed=6, settings=settings)
    np.testing.assert_array_equal(masks["smoothgrad"], methods.smoothgrad(random_mlp, random_digits, 2, nsamples=3, seed=6))
    np.testing.assert_array_equal(masks["vargrad"], methods.vargrad(random_mlp, random_digits, 2, nruns=3, seed=6))
    np.testing.assert_allclose(masks["integrated_gradients"],
                               methods.integrated_gradients(random_mlp, random_digits, 2, x_steps=4), rtol=1e-6)
    # a shared Generator is drawn from in the order the methods are listed
    rng = np.random.default_rng(6)
    shared = methods.compute_masks(random_mlp, random_digits, ["vargrad", "smoothgrad"], classes=2, seed=rng,
                                   settings=settings)
    np.testing.assert_array_equal(shared["vargrad"], methods.vargrad(random_mlp, random_digits, 2, nruns=3,
                                                                     seed=np.random.default_rng(6)))
    assert not np.allclose(shared["smoothgrad"], masks["smoothgrad"])


def test_every_method_gives_float32_masks_of_the_input_shape(random_mlp, random_digits):
    settings = {"ig_smoothgrad": {"nsamples": 2, "x_steps": 3}, "smoothgrad": {"nsamples": 2},
                "vargrad": {"nruns": 2}}
    masks = methods.compute_masks(random_mlp, random_digits[0], settings=settings)   # one (H, W, C) image
    assert list(masks) == methods.available_methods(random_mlp)
    for name, m in masks.items():
        assert m.shape == (1, 28, 28, 1) and m.dtype == np.float32 and np.isfinite(m).all(), name


def test_edge_is_registered_and_model_free(random_cnn, random_digits):
    edge = pytest.importorskip("sanity_checks.edge")
    masks = methods.METHODS["edge"](random_cnn, random_digits)
    np.testing.assert_allclose(masks, edge.edge_detector(random_digits), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(methods.edge(None, random_digits), masks)


def test_one_gradcam_layer_setting_governs_guided_gradcam_too(random_cnn, random_digits):
    """--set gradcam.layer=NAME moves Guided GradCAM to the same layer, unless it is given its own."""
    x, layer = random_digits[:2], "hidden1_hconv_act"
    both = methods.compute_masks(random_cnn, x, ["gradcam", "guided_gradcam", "guided_backprop"],
                                 settings={"gradcam": {"layer": layer}})
    np.testing.assert_array_equal(both["guided_gradcam"], both["guided_backprop"] * both["gradcam"])
    own = methods.compute_masks(random_cnn, x, ["guided_gradcam"], settings={
        "gradcam": {"layer": layer}, "guided_gradcam": {"layer": "hidden2_hconv_act"}})
    default = methods.compute_masks(random_cnn, x, ["guided_gradcam"])
    np.testing.assert_array_equal(own["guided_gradcam"], default["guided_gradcam"])
    assert not np.array_equal(both["guided_gradcam"], default["guided_gradcam"])


def test_gradcam_upsamples_as_the_original_by_default_and_one_setting_governs_both(random_cnn, random_digits):
    """Both default to PAIR 0.0.4's TF1 bilinear upsampling (the original's); --set gradcam.resize=skimage
    (PAIR 0.2.1's) moves Guided GradCAM too, unless it is given its own."""
    from sanity_checks.methods.registry import DEFAULT_SETTINGS
    assert DEFAULT_SETTINGS["gradcam"]["resize"] == DEFAULT_SETTINGS["guided_gradcam"]["resize"] == "tf1_bilinear"
    x, names = random_digits[:2], ["gradcam", "guided_gradcam", "guided_backprop"]
    default = methods.compute_masks(random_cnn, x, names)
    skimage = methods.compute_masks(random_cnn, x, names, settings={"gradcam": {"resize": "skimage"}})
    np.testing.assert_array_equal(default["gradcam"], methods.gradcam(random_cnn, x, resize="tf1_bilinear"))
    np.testing.assert_array_equal(skimage["gradcam"], methods.gradcam(random_cnn, x, resize="skimage"))
    for masks in (default, skimage):
        np.testing.assert_array_equal(masks["guided_gradcam"], masks["guided_backprop"] * masks["gradcam"])
    assert not np.allclose(default["guided_gradcam"], skimage["guided_gradcam"], atol=1e-2)
    own = methods.compute_masks(random_cnn, x, ["guided_gradcam"], settings={
        "gradcam": {"resize": "skimage"}, "guided_gradcam": {"resize": "tf1_bilinear"}})
    np.testing.assert_array_equal(own["guided_gradcam"], default["guided_gradcam"])
