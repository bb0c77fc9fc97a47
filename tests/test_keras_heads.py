"""A Keras model's head (issue 28): a final sigmoid is looked through as a softmax is, so the explained
score is the logit, checked against an eager GradientTape on the model cut before its sigmoid; a
single-output model runs through the randomization runner with one line saying what is explained."""
import json

import numpy as np
import pytest

from sanity_checks import methods
from sanity_checks.keras.eager import eager_mode
from sanity_checks.loading import load_model

import keras_zoo as zoo

pytestmark = pytest.mark.xdist_group("keras_models")


def sigmoid_cnn(K, seed, outputs, separate=False):
    """12x12x3 -> conv relu, pool, dense relu, Dense(outputs, sigmoid) (or a Dense and an Activation layer)."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((12, 12, 3))
    x = K.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = K.layers.MaxPooling2D(2, name="pool")(x)
    x = K.layers.Dense(6, activation="relu", name="fc")(K.layers.Flatten(name="flat")(x))
    if separate:
        out = K.layers.Activation("sigmoid", name="probability")(K.layers.Dense(outputs, name="head")(x))
    else:
        out = K.layers.Dense(outputs, activation="sigmoid", name="head")(x)
    return K.Model(inputs, out, name=f"sigmoid_{outputs}")


def regression_cnn(K, seed):
    K.utils.set_random_seed(seed)
    inputs = K.Input((12, 12, 3))
    x = K.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    return K.Model(inputs, K.layers.Dense(1, name="score")(K.layers.Flatten(name="flat")(x)), name="regression")


def tape_logit_gradients(model, x, classes):
    """d(pre-sigmoid logit of each image's class)/dx, eagerly: the model cut at its head's input, the head's
    kernel and bias applied by hand (no activation), differentiated by a GradientTape."""
    from sanity_checks.compat import tf
    K = zoo.keras_module("tf_keras" if type(model).__module__.startswith("tf_keras") else "keras")
    head = model.get_layer("head")
    body = K.Model(model.inputs, head.input)
    kernel, bias = (tf.constant(np.asarray(w)) for w in (head.kernel, head.bias))
    images = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = tf.matmul(body(images, training=False), kernel) + bias
        picked = tf.gather(logits, classes, axis=1, batch_dims=1)
    return np.asarray(logits), np.asarray(tape.gradient(picked, images))


@pytest.mark.parametrize("flavour,outputs,separate", [("keras", 3, False), ("keras", 1, True), ("tf_keras", 1, False)],
                         ids=["keras-dense3", "keras-dense1-activation-layer", "tf_keras-dense1"])
def test_a_sigmoid_head_is_explained_at_its_logit_as_a_tape_on_the_cut_model_gives_it(tmp_path, flavour, outputs,
                                                                                       separate):
    x = np.random.default_rng(4).random((3, 12, 12, 3), dtype=np.float32)
    with eager_mode():
        eager_model = sigmoid_cnn(zoo.keras_module(flavour), 2, outputs, separate)
        path = zoo.save(eager_model, flavour, str(tmp_path), eager_model.name, ["keras"])["keras"]
        classes = np.zeros(3, np.int32) if outputs == 1 else np.array([0, 2, 1], np.int32)
        logits, expected = tape_logit_gradients(eager_model, x, classes)
        probabilities = np.asarray(eager_model(x, training=False))
    printed = []
    model = load_model(path, log=printed.append)
    try:
        assert model.metadata["explained"] == "pre-sigmoid logits (the input of the final Sigmoid)"
        assert model.metadata["final_activation"] == "Sigmoid"
        assert f"note: {eager_model.name} ends in a sigmoid: the explained score is its input, the pre-sigmoid " \
               f"logit" in printed
        np.testing.assert_allclose(model.predict_logits(x), logits, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(1 / (1 + np.exp(-logits)), probabilities, rtol=1e-5, atol=1e-6)
        masks = methods.get_method("gradient")(model, x, classes)
        scale = np.abs(expected).max()
        assert scale > 0
        np.testing.assert_allclose(masks, expected, rtol=0, atol=1e-5 * scale)
        # not the probability's gradient, which is the logit's times p(1 - p) <= 1/4
        p = np.take_along_axis(probabilities, classes[:, None], axis=1)[:, 0]
        assert np.abs(masks - expected * (p * (1 - p))[:, None, None, None]).max() > 0.5 * scale
    finally:
        model.close()


def test_the_report_notes_say_what_a_single_output_explains():
    from sanity_checks.report.about import notes

    sigmoid = " ".join(notes({"outputs": 1, "images": 10, "explained": "pre-sigmoid logits (the input of the final "
                                                                        "Sigmoid)"}))
    assert "at the logit before the final sigmoid" in sigmoid and "random-logit test" in sigmoid
    plain = " ".join(notes({"outputs": 1, "images": 10, "explained": "the model's output"}))
    assert "(the model's output) as the logit of a single class" in plain and "sigmoid" not in plain
    several = notes({"outputs": 3, "images": 10, "explained": "pre-sigmoid logits (the input of the final Sigmoid)"})
    assert several == ["**A sigmoid head.** The methods explain each class at its logit, before the final sigmoid, as "
                       "for a softmax (a probability saturates, and its gradient with it)."]
    assert notes({"outputs": 3, "images": 10, "explained": "pre-softmax logits (the input of the final Softmax)"}) == []
    # the engine's final_activation decides where it is given; the text only for descriptions saved without it
    named = {"outputs": 3, "images": 10, "explained": "a user's sigmoid-shaped score", "final_activation": None}
    assert notes(named) == several
    assert notes({**named, "final_activation": "Softmax"}) == []
    assert notes({**named, "explained": "the model's output", "final_activation": "Sigmoid"}) == several


def test_the_randomization_runner_says_in_one_line_that_a_single_output_is_explained_as_one_class(tmp_path,
                                                                                                  capsys):
    from sanity_checks.cli.randomization import model_randomization_main

    with eager_mode():
        eager_model = regression_cnn(zoo.keras_module("keras"), 1)
        path = zoo.save(eager_model, "keras", str(tmp_path), "regression", ["keras"])["keras"]
    images = tmp_path / "images.npy"
    np.save(images, np.random.default_rng(0).random((2, 12, 12, 3), dtype=np.float32))
    out = tmp_path / "out"
    outcomes = model_randomization_main(["--model", path, "--npy", str(images), "--images", "2", "--quick",
                                         "--methods", "gradient", "--metrics", "spearman_abs", "--out", str(out)])
    assert [s.label for s in outcomes[0].steps] == ["original", "score", "conv"]
    line = ("note: regression has a single output. The methods explain its one output (the model's output) as the "
            "logit of a single class: a regression score is explained as it is, as a one-class classifier.")
    assert capsys.readouterr().err.count(line) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["notes"] == [line] and summary["model_metadata"]["explained"] == "the model's output"
