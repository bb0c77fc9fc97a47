"""A user's Keras model (built here, saved to .keras, loaded as a user would) with methods written for Keras and
PAIR 0.2's newer methods: a Quantus-style explain_func gets an eager copy of the user's Keras model holding the
weights of each randomization state (never the user's object or file); XRAI, Guided IG and Blur IG equal PAIR's
own classes fed by an eager GradientTape on the same Keras model."""
import hashlib
import types

import numpy as np
import pytest

from sanity_checks import methods
from sanity_checks.compat import tf
from sanity_checks.keras.eager import eager_mode
from sanity_checks.loading import load_model
from sanity_checks.methods import pair_methods

from test_keras_models import eager_call_model_function

SHAPE = (12, 12, 3)


@pytest.fixture(scope="module")
def user_keras(tmp_path_factory):
    """(the user's eager Keras 3 model, its .keras file, our model loaded from the file)."""
    import keras

    path = tmp_path_factory.mktemp("user_keras") / "net.keras"
    with eager_mode():
        keras.utils.set_random_seed(3)
        inputs = keras.Input(SHAPE)
        x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
        x = keras.layers.BatchNormalization(name="bn")(x)
        x = keras.layers.ReLU(name="relu")(x)
        x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2")(x)
        x = keras.layers.Flatten(name="flat")(x)
        net = keras.Model(inputs, keras.layers.Dense(5, name="top")(x), name="user_net")
        bn = net.get_layer("bn")   # moving statistics that are not the initial ones: they must reach the copy
        bn.set_weights([w + r for w, r in zip(bn.get_weights(), (0.2, -0.1, 0.3, 0.5))])
        net.save(path)
    model = load_model(str(path), log=lambda *a: None)
    yield net, path, model
    model.close()


def images(n, seed=0):
    return np.random.default_rng(seed).random((n,) + SHAPE, dtype=np.float32)


def tape_gradient(model, inputs, targets, scale=1.0):
    """A Quantus-style explain_func written for Keras: d output[target] / d input by tf.GradientTape."""
    assert tf.executing_eagerly() and isinstance(inputs, np.ndarray) and inputs.shape[1:] == SHAPE   # NHWC numpy
    x = tf.convert_to_tensor(inputs)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = tf.gather(model(x, training=False), targets, axis=1, batch_dims=1)
    return tape.gradient(scores, x).numpy() * scale


def test_quantus_convention_gets_the_users_keras_model_in_every_randomization_state(user_keras, registered):
    from sanity_checks.experiments import model_randomization

    net, path, model = user_keras
    stored = hashlib.sha256(path.read_bytes()).hexdigest()
    with eager_mode():
        users_weights = [w.copy() for w in net.get_weights()]
    seen = []

    def explain(model, inputs, targets, scale=1.0):
        seen.append(model)
        return tape_gradient(model, inputs, targets, scale)

    registered("keras_tape_gradient", explain, convention="quantus", defaults={"scale": 1.0})
    assert model.framework == "keras" and methods.registry.supports(model, "keras_tape_gradient")
    x = images(3)
    result = model_randomization.run(model, x, methods=["gradient", "keras_tape_gradient"], blocks=["top", "conv2"],
                                     metrics=["spearman_abs"], keep_masks=3, progress=False)
    states = [step.label for step in result.steps]
    assert states == ["original", "top", "conv2"]
    for state in states:   # the state's weights reached the Keras model: the tape gives our built-in gradient
        ours, theirs = result.masks[state]["gradient"], result.masks[state]["keras_tape_gradient"]
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6 * np.abs(ours).max())
    assert not np.allclose(result.masks["original"]["gradient"], result.masks["top"]["gradient"], atol=1e-3)
    assert not np.allclose(result.masks["top"]["gradient"], result.masks["conv2"]["gradient"], atol=1e-3)
    # a copy of the user's model, holding the trained weights again afterwards; the user's object and file unchanged
    assert seen and all(m is seen[0] for m in seen) and seen[0] is not net
    with eager_mode():
        assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), users_weights))
        assert all(np.array_equal(a, b) for a, b in zip(model.framework_model().get_weights(), users_weights))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == stored
    # settings pass through; the copy runs in eager mode while the graph model keeps working around it
    scaled = methods.compute_masks(model, x, ["keras_tape_gradient"], settings={"keras_tape_gradient": {"scale": 2.0}})
    np.testing.assert_allclose(scaled["keras_tape_gradient"], 2 * result.masks["original"]["gradient"], rtol=1e-5,
                               atol=1e-6)
    assert not tf.executing_eagerly()


def test_input_invariance_hands_over_a_copy_that_compensates_the_shift(user_keras):
    """The input-invariance check's shifted model hands over a Keras copy whose first layer compensates the shift:
    on x + m it gives the original's logits on x."""
    _, _, model = user_keras
    shifted, _ = model.shifted_input_model(0.5)
    try:
        x = images(2, seed=1)
        copy = shifted.framework_model()
        with shifted.framework_scope():
            logits = copy(tf.convert_to_tensor(x + np.float32(0.5)), training=False).numpy()
        np.testing.assert_allclose(logits, model.predict_logits(x), rtol=1e-5, atol=1e-5)
        assert not np.allclose(logits, model.predict_logits(x + np.float32(0.5)), atol=1e-3)
    finally:
        shifted.close()


# ------------------------------------------------------------------------------------ PAIR 0.2 on the Keras model
def pair_masks(x, classes, get_mask):
    return np.stack([np.asarray(get_mask(image, {"class_idx": int(c)}), np.float32) for image, c in zip(x, classes)])


def assert_close(ours, theirs, tol=1e-5):
    """Graph and eager run the same TensorFlow kernels here and agreed bitwise when this was written; 1e-5 of the
    mask's maximum leaves room for rounding elsewhere and still catches a wrong weight, state or class."""
    theirs = np.repeat(theirs[..., None], ours.shape[-1], axis=-1) if theirs.ndim == ours.ndim - 1 else theirs
    assert ours.shape == theirs.shape and np.abs(theirs).max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * float(np.abs(theirs).max()))


def test_xrai_guided_ig_and_blur_ig_equal_pairs_own_classes_on_an_eager_gradient_tape(user_keras, monkeypatch):
    import saliency.core as core
    import saliency.core.guided_ig as pair_guided_ig

    net, _, model = user_keras
    call = eager_call_model_function(net)
    x = images(2, seed=2)
    classes = model.predict(x)
    batch = model.architecture.batch_size
    assert_close(pair_methods.blur_ig(model, x, classes, max_sigma=10, steps=40), pair_masks(
        x, classes, lambda image, args: core.BlurIG().GetMask(image, call, call_model_args=args, max_sigma=10,
                                                              steps=40, batch_size=batch)))
    # PAIR 0.2.1's Guided IG calls np.quantile(interpolation=), gone in numpy 2: a numpy that still takes it
    shim = types.SimpleNamespace(**vars(np))
    shim.quantile = lambda a, q, interpolation="linear": np.quantile(a, q, method=interpolation)
    monkeypatch.setattr(pair_guided_ig, "np", shim)
    assert_close(pair_methods.guided_ig(model, x[1:], classes[1:], x_steps=20), pair_masks(
        x[1:], classes[1:], lambda image, args: core.GuidedIG().GetMask(image, call, call_model_args=args, x_steps=20,
                                                                        x_baseline=np.zeros_like(image))))
    assert_close(pair_methods.xrai(model, x[:1], classes[:1], steps=20), pair_masks(x[:1], classes[:1], (
        lambda image, args: core.XRAI().GetMask(image, call, call_model_args=args, batch_size=batch,
                                                extra_parameters=core.XRAIParameters(steps=20)))))
