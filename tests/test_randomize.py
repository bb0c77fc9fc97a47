"""Block randomization in memory: which variables change, seeds, strategies, restoring."""
import hashlib

import numpy as np
import pytest

from sanity_checks.errors import SanityCheckError
from sanity_checks.loading import load_model
from sanity_checks.model import GraphModel
from sanity_checks.randomize import Randomizer, Strategy, cascading_steps, independent_steps



def changed_variables(model, snapshot):
    now = model.get_weights()
    return sorted(n for n in now if not np.array_equal(now[n], snapshot[n]))


def test_step_lists():
    blocks = ["softmax_linear", "fc1", "hidden2", "hidden1"]
    assert [(s.label, s.blocks) for s in cascading_steps(blocks)] == [
        ("original", ()), ("softmax_linear", ("softmax_linear",)), ("fc1", ("softmax_linear", "fc1")),
        ("hidden2", ("softmax_linear", "fc1", "hidden2")), ("hidden1", tuple(blocks))]
    assert [(s.label, s.blocks) for s in independent_steps(blocks)] == [
        ("original", ()), ("softmax_linear", ("softmax_linear",)), ("fc1", ("fc1",)), ("hidden2", ("hidden2",)),
        ("hidden1", ("hidden1",))]


@pytest.mark.parametrize("strategy", [Strategy(), Strategy("truncated_normal"), Strategy("uniform"),
                                      Strategy("noise", 0.1), Strategy("noise", 0.5, relative=True)])
def test_randomizing_a_block_changes_exactly_its_variables_and_restore_gives_back_the_bytes(cnn, strategy):
    randomizer = Randomizer(cnn, strategy, seed=3)
    randomizer.randomize(["fc1"])
    assert changed_variables(cnn, randomizer.snapshot) == ["fc1/biases", "fc1/weights"] or \
        (strategy.kind == "reinit" and changed_variables(cnn, randomizer.snapshot) == ["fc1/weights"])
    randomizer.randomize(["softmax_linear", "hidden1"])  # the previous block goes back to trained
    assert {n.split("/")[0] for n in changed_variables(cnn, randomizer.snapshot)} == {"softmax_linear", "hidden1"}
    randomizer.restore()
    assert changed_variables(cnn, randomizer.snapshot) == []


def test_reinit_draws_from_each_variables_own_initializer(cnn):
    randomizer = Randomizer(cnn, seed=0)
    randomizer.randomize(["fc1"])
    weights = cnn.get_weights()
    randomizer.restore()
    np.testing.assert_array_equal(weights["fc1/biases"], np.float32(0.1))  # constant 0.1, as trained from
    assert abs(weights["fc1/weights"].std() - 0.1 * 0.8796) < 0.002       # truncated normal, std 0.1
    assert np.abs(weights["fc1/weights"]).max() <= 0.2 + 1e-6
    mlp = GraphModel("mlp", seed=0)
    r = Randomizer(mlp, seed=0)
    r.randomize(["hidden2"])
    w = mlp.get_weights()["mlp/hidden2/weights"]
    assert abs(w.std() - 0.8796 * 2 / np.sqrt(2500)) < 0.001


def test_same_seed_same_weights_other_seed_differs_and_cascades_are_cumulative(cnn):
    def weights_after(seed, blocks):
        r = Randomizer(cnn, seed=seed)
        r.randomize(blocks)
        w = cnn.get_weights()
        r.restore()
        return w

    a, b, c = weights_after(5, ["fc1"]), weights_after(5, ["fc1"]), weights_after(6, ["fc1"])
    assert np.array_equal(a["fc1/weights"], b["fc1/weights"])
    assert not np.array_equal(a["fc1/weights"], c["fc1/weights"])
    cascade = weights_after(5, ["softmax_linear", "fc1"])
    assert np.array_equal(cascade["fc1/weights"], a["fc1/weights"])


def test_strategy_statistics(cnn):
    for strategy, expected_std in [(Strategy("truncated_normal"), 0.01), (Strategy("uniform"), 0.01)]:
        r = Randomizer(cnn, strategy, seed=1)
        r.randomize(["fc1"])
        assert cnn.get_weights()["fc1/weights"].std() == pytest.approx(expected_std, rel=0.01)
        r.restore()
    r = Randomizer(cnn, Strategy("noise", 0.2), seed=1)
    r.randomize(["fc1"])
    diff = cnn.get_weights()["fc1/weights"] - r.snapshot["fc1/weights"]
    r.restore()
    assert diff.mean() == pytest.approx(0, abs=1e-3) and diff.std() == pytest.approx(0.2, rel=0.01)
    r = Randomizer(cnn, Strategy("noise", 0.0), seed=1)  # zero noise leaves the model unchanged
    r.randomize(["fc1", "hidden1"])
    assert changed_variables(cnn, r.snapshot) == []


def test_bad_names_are_refused(cnn):
    r = Randomizer(cnn)
    with pytest.raises(SanityCheckError, match="valid blocks: softmax_linear, fc1, hidden2, hidden1"):
        r.randomize(["fc2"])
    with pytest.raises(SanityCheckError, match="valid: cascading, independent"):
        r.steps("cascade")
    with pytest.raises(SanityCheckError, match="valid: reinit"):
        Strategy("gaussian")


def test_trained_checkpoint_is_never_written(tmp_path, rng):
    folder = GraphModel("cnn", seed=2).save(tmp_path / "cnn")

    def digest():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder_path.iterdir())}

    folder_path = tmp_path / "cnn"
    before = digest()
    model = load_model(folder)
    x = rng.random((2, 28, 28, 1), dtype=np.float32)
    logits = model.predict_logits(x)
    with Randomizer(model, seed=0) as r:
        for step in r.steps("cascading"):
            r.randomize(step.blocks)
            model.predict_logits(x)
    np.testing.assert_array_equal(model.predict_logits(x), logits)
    assert digest() == before


def test_bottom_up_step_k_randomizes_exactly_the_k_lowest_blocks(cnn):
    randomizer = Randomizer(cnn, seed=4, order="bottom-up")
    steps = randomizer.steps("cascading")
    lowest_first = list(reversed(cnn.architecture.block_names))
    assert [s.label for s in steps] == ["original"] + lowest_first
    with randomizer:
        for k, step in enumerate(steps):
            randomizer.randomize(step.blocks)
            changed = {n.split("/")[0] for n in changed_variables(cnn, randomizer.snapshot)}
            assert changed == set(lowest_first[:k])
    assert changed_variables(cnn, randomizer.snapshot) == []
    with pytest.raises(SanityCheckError, match="valid: top-down, bottom-up"):
        Randomizer(cnn, order="sideways")


def test_shuffle_keeps_each_variables_sorted_values_and_moves_them(cnn):
    randomizer = Randomizer(cnn, Strategy("shuffle"), seed=9)
    names = randomizer.randomize(["fc1", "hidden1"])
    shuffled = cnn.get_weights()
    randomizer.restore()
    with Randomizer(cnn, Strategy("shuffle"), seed=9) as again:
        again.randomize(["fc1"])
        same_seed = cnn.get_weights()["fc1/weights"]
    for name in names:
        before, after = randomizer.snapshot[name], shuffled[name]
        np.testing.assert_array_equal(np.sort(after, axis=None), np.sort(before, axis=None))
        if np.unique(before).size > 1:   # constant biases (0.1) cannot move
            assert np.mean(after != before) > 0.9
    np.testing.assert_array_equal(same_seed, shuffled["fc1/weights"])  # seeded per variable
