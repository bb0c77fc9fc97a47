"""GraphModel: architectures, batched calls, guided tower, save/load."""
import numpy as np
import pytest

from sanity_checks.errors import ModelError
from sanity_checks.loading import load_model
from sanity_checks.model import GraphModel
from sanity_checks.models import get_architecture


@pytest.fixture(scope="module")
def cnn():
    model = GraphModel("cnn", seed=3)
    yield model
    model.close()


def test_cnn_variables_and_blocks_match_the_original(cnn):
    shapes = {v.op.name: tuple(v.shape.as_list()) for v in cnn.variables}
    assert shapes == {"hidden1/weights": (5, 5, 1, 32), "hidden1/biases": (32,),
                      "hidden2/weights": (5, 5, 32, 64), "hidden2/biases": (64,),
                      "fc1/weights": (3136, 1024), "fc1/biases": (1024,),
                      "softmax_linear/weights": (1024, 10), "softmax_linear/biases": (10,)}
    assert cnn.architecture.block_names == ["softmax_linear", "fc1", "hidden2", "hidden1"]
    weights = cnn.get_weights()
    np.testing.assert_array_equal(weights["fc1/biases"], np.float32(0.1))
    assert np.abs(weights["fc1/weights"]).max() <= 0.2 + 1e-6  # truncated normal, 2 std of 0.1
    assert abs(weights["fc1/weights"].std() - 0.088) < 0.005  # std of N(0, 0.1) truncated at 2 sigma


def test_mlp_initializers_and_blocks():
    model = GraphModel("mlp", seed=0)
    weights = model.get_weights()
    for name, fan_in in [("mlp/hidden1/weights", 784), ("mlp/hidden2/weights", 2500),
                         ("mlp/hidden3/weights", 1500), ("mlp/logits/weights", 500)]:
        bound = 2 * 2.0 / np.sqrt(fan_in)
        assert np.abs(weights[name]).max() <= bound + 1e-6
        assert weights[name].std() == pytest.approx(0.88 * 2.0 / np.sqrt(fan_in), rel=0.05)
    assert not any(weights[n].any() for n in weights if n.endswith("biases"))
    assert model.architecture.block_names == ["logits", "hidden3", "hidden2", "hidden1"]
    assert all(model.architecture.block(b).owns(f"mlp/{b}/weights") for b in model.architecture.block_names)


def test_same_seed_same_weights_other_seed_differs():
    a, b, c = GraphModel("cnn", seed=5), GraphModel("cnn", seed=5), GraphModel("cnn", seed=6)
    wa, wb, wc = a.get_weights(), b.get_weights(), c.get_weights()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not np.array_equal(wa["fc1/weights"], wc["fc1/weights"])


def test_input_gradients_batched_equal_per_image(cnn, rng):
    x = rng.random((5, 28, 28, 1), dtype=np.float32)
    classes = np.array([0, 3, 9, 3, 1])
    grads = cnn.input_gradients(x, classes, batch_size=2)
    for i in range(5):
        single = cnn.input_gradients(x[i], classes[i])
        np.testing.assert_allclose(grads[i:i + 1], single, rtol=1e-4, atol=1e-6)


def test_input_gradients_match_finite_differences(rng):
    # Float32 logits of a random net are noisy at small steps and ReLU/max-pool kinks bend large ones;
    # the MLP at 1e-3 sits between the two (the CNN is checked against PAIR in test_methods).
    mlp = GraphModel("mlp", seed=3)
    x = rng.random((28, 28, 1), dtype=np.float32)
    direction = rng.standard_normal((28, 28, 1)).astype(np.float32)
    eps = 1e-3
    logits = mlp.predict_logits(np.stack([x + eps * direction, x - eps * direction])).astype(np.float64)
    numeric = (logits[0, 3] - logits[1, 3]) / (2 * eps)
    assert float(np.sum(mlp.input_gradients(x, 3)[0] * direction)) == pytest.approx(numeric, rel=2e-2)


def test_guided_gradients_follow_the_session_weights(cnn, rng):
    x = rng.random((2, 28, 28, 1), dtype=np.float32)
    before = cnn.input_gradients(x, [1, 2], guided=True)
    var = next(v for v in cnn.variables if v.op.name == "fc1/weights")
    saved = cnn.session.run(var)
    var.load(saved * -1.0, cnn.session)
    after = cnn.input_gradients(x, [1, 2], guided=True)
    var.load(saved, cnn.session)
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(cnn.input_gradients(x, [1, 2], guided=True), before)


def test_layer_values_and_gradients_shapes(cnn, rng):
    values, grads = cnn.layer_values_and_gradients(rng.random((3, 28, 28, 1), dtype=np.float32), 4,
                                                    "hidden2_hconv_act")
    assert values.shape == grads.shape == (3, 14, 14, 64)
    assert (values >= 0).all()
    with pytest.raises(ModelError, match="valid layers"):
        cnn.layer_values_and_gradients(np.zeros((1, 28, 28, 1)), 0, "nope")


def test_bad_input_is_refused(cnn):
    with pytest.raises(ModelError, match=r"\(N, 28, 28, 1\)"):
        cnn.predict(np.zeros((2, 784)))
    with pytest.raises(ModelError, match="0..9"):
        cnn.input_gradients(np.zeros((1, 28, 28, 1)), [10])
    with pytest.raises(ModelError, match="one class per image"):
        cnn.input_gradients(np.zeros((3, 28, 28, 1)), [1, 2])
    with pytest.raises(ModelError, match="valid: cnn"):
        get_architecture("resnet")


def test_save_and_load_round_trip(cnn, tmp_path, rng):
    x = rng.random((4, 28, 28, 1), dtype=np.float32)
    folder = cnn.save(tmp_path / "m", {"note": "test"})
    cnn.save(tmp_path / "m", {"note": "again"})  # overwriting an existing folder is atomic too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_logits(x), cnn.predict_logits(x))
    assert loaded.metadata == {"architecture": "cnn", "note": "again"}


def test_load_errors(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="metadata.json"):
        load_model(tmp_path / "empty")
