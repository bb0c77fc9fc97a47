"""The checks of sanity_checks.checks and the report: known answers, invariances, and independent
numpy computations of the published formulas on the same masks."""
import warnings

import numpy as np
import pytest
from scipy import stats

from sanity_checks.checks import controls, emprt, faithfulness, input_invariance, mprt, random_logit, smprt
from sanity_checks.checks.common import CheckError
from sanity_checks.random_streams import draw_rng
from sanity_checks.model import GraphModel

FAST = ["gradient", "guided_backprop"]


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def rank_correlation(a, b):
    """Spearman of |a| and |b| from scratch: Pearson of average ranks."""
    ra, rb = stats.rankdata(np.abs(a).ravel()), stats.rankdata(np.abs(b).ravel())
    return float(np.corrcoef(ra, rb)[0, 1])


def values(rows, method, metric, **where):
    return [r["value"] for r in rows if r["method"] == method and r["metric"] == metric
            and all(r[k] == v for k, v in where.items())]


# ------------------------------------------------------------------------------------ eMPRT entropy
def test_entropy_of_uniform_and_one_hot_histograms():
    assert emprt.discrete_entropy([5, 5, 5, 5]) == pytest.approx(np.log(4))
    assert emprt.discrete_entropy([0, 9, 0, 0]) == 0.0
    assert emprt.histogram_entropy(np.full(100, 3.0), "sqrt") == 0.0          # one value: one bin
    values_ = np.repeat(np.arange(10.0), 10)                                     # 10 bins, 10 values each
    assert emprt.histogram_entropy(values_, "sqrt") == pytest.approx(np.log(10))
    for rule in emprt.BIN_RULES:
        assert 0 <= emprt.histogram_entropy(np.random.default_rng(0).random(500), rule) <= np.log(500)
    with pytest.raises(CheckError, match="valid: freedman-diaconis, scott, sturges, rice, sqrt"):
        emprt.histogram_entropy(values_, "doane")


# ------------------------------------------------------------------------------------ seeding
def test_draws_depend_on_the_image_id_not_the_batch():
    a = controls.random_maps((4, 4, 1), [5, 6], seed=1, state="s")
    b = controls.random_maps((4, 4, 1), [6], seed=1, state="s")
    np.testing.assert_array_equal(a[1], b[0])
    assert not np.array_equal(a[1], controls.random_maps((4, 4, 1), [6], seed=1, state="t")[0])  # fresh per state
    assert not np.array_equal(a[1], controls.random_maps((4, 4, 1), [6], seed=2, state="s")[0])


def test_random_logit_is_never_the_explained_class_and_covers_the_others():
    ids = np.arange(2000)
    classes = ids % 10
    others = random_logit.other_classes(classes, ids, seed=3, num_classes=10)
    assert not np.any(others == classes)
    for c in range(10):
        assert set(others[classes == c]) == set(range(10)) - {c}
    assert random_logit.other_classes(classes[7:8], ids[7:8], 3, 10)[0] == others[7]


# ------------------------------------------------------------------------------------ MPRT averages
def test_averaged_similarity_excludes_the_original_state_unless_asked(cnn, random_digits):
    result = mprt.run(cnn, random_digits[:2], [0, 1], seed=0,
                      settings={"methods": ["gradient"], "metrics": ["spearman_abs"], "orders": ["top-down"]})
    rows = [r for r in result.rows if r["method"] == "gradient"]
    assert values(rows, "gradient", "spearman_abs", step_index=0) == [1.0, 1.0]
    randomized = [r["value"] for r in rows if r["step_index"] > 0]
    average = mprt.average_similarity(result.rows)[("gradient", "top-down", "spearman_abs")]
    assert average == pytest.approx(np.mean(randomized))
    with_original = mprt.average_similarity(result.rows, include_original=True)[("gradient", "top-down", "spearman_abs")]
    assert with_original == pytest.approx(np.mean(randomized + [1.0, 1.0])) and with_original > average
    # the edge control never changes, the random control is fresh at every state
    assert set(values(result.rows, controls.EDGE, "spearman_abs")) == {1.0}
    assert max(values(result.rows, controls.RANDOM, "spearman_abs", order="top-down")[2:]) < 0.3


# ------------------------------------------------------------------------------------ sMPRT
def test_smprt_equals_the_plain_test_at_one_sample_without_noise(cnn, random_digits):
    images, ids = random_digits[:2], [4, 9]
    common = {"methods": FAST, "metrics": ["spearman_abs", "spearman_signed"]}
    plain = mprt.run(cnn, images, ids, seed=2, settings={**common, "orders": ["top-down"]}).rows
    smoothed = smprt.run(cnn, images, ids, seed=2, settings={**common, "nsamples": 1, "noise_level": 0.0}).rows
    last = max(r["step_index"] for r in plain)
    for method in FAST + [controls.EDGE]:
        for metric in common["metrics"]:
            assert values(smoothed, method, metric) == values(plain, method, metric, step_index=last)


def test_smprt_against_an_independent_computation(cnn, random_digits):
    images, ids, n, level = random_digits[:2], [3, 8], 4, 0.1
    rows = smprt.run(cnn, images, ids, seed=5, settings={"methods": ["gradient"], "metrics": ["spearman_abs"],
                                                         "nsamples": n, "noise_level": level}).rows
    from sanity_checks.randomize import Randomizer

    def averaged_gradient(x, image_id, c):
        eps = draw_rng(5, image_id, "smprt_noise").standard_normal((n,) + x.shape) * level * (x.max() - x.min())
        return np.mean([cnn.input_gradients((x + e).astype(np.float32), c) for e in eps], axis=0)[0]

    classes = cnn.predict(images)
    original = [averaged_gradient(x, i, c) for x, i, c in zip(images, ids, classes)]
    with Randomizer(cnn, seed=5) as r:
        r.randomize(cnn.architecture.block_names)
        randomized = [averaged_gradient(x, i, c) for x, i, c in zip(images, ids, classes)]
    expected = [rank_correlation(a, b) for a, b in zip(original, randomized)]
    np.testing.assert_allclose(values(rows, "gradient", "spearman_abs"), expected, atol=1e-6)


# ------------------------------------------------------------------------------------ eMPRT
def test_emprt_against_an_independent_computation(cnn, random_digits):
    images, ids = random_digits, [0, 1, 2]
    rows = emprt.run(cnn, images, ids, seed=1, settings={"methods": ["gradient"]}).rows
    from sanity_checks.randomize import Randomizer

    def entropy(mask):
        v = np.abs(mask).ravel().astype(np.float64)
        # numpy's sqrt rule: width range/sqrt(n), so ceil(range/width) is 28 or, rounded, 29 bins on 784 pixels
        counts, _ = np.histogram(v, bins="sqrt")
        return stats.entropy(counts)

    # as the checks do: ids 0..2 at positions 0..2 of a 16-row call, padded with copies of image 0
    # (a batch of 3 rounds differently, which moves bin edges)
    def one_by_one(f, *arrays):
        return f(*(np.concatenate([a, np.repeat(a[:1], 16 - len(a), axis=0)]) for a in arrays))[:len(images)]

    classes = cnn.predict(images)
    before = one_by_one(cnn.input_gradients, images, classes)
    logits_before = one_by_one(cnn.predict_logits, images)
    with Randomizer(cnn, seed=1) as r:
        r.randomize(cnn.architecture.block_names)
        after = one_by_one(cnn.input_gradients, images, classes)
        logits_after = one_by_one(cnn.predict_logits, images)
    expected = [(entropy(b) - entropy(a)) / entropy(a) for a, b in zip(before, after)]
    np.testing.assert_allclose(values(rows, "gradient", "entropy_increase"), expected, rtol=1e-9)
    softmax = lambda z: stats.entropy(np.exp(z - z.max(1, keepdims=True)), axis=1)  # noqa: E731
    expected_model = (softmax(logits_after.astype(np.float64)) - softmax(logits_before.astype(np.float64))) \
        / softmax(logits_before.astype(np.float64))
    np.testing.assert_allclose(values(rows, emprt.MODEL_OUTPUT, "entropy_increase"), expected_model, rtol=1e-6)
    assert set(values(rows, controls.EDGE, "entropy_increase")) == {0.0}


# ------------------------------------------------------------------------------------ random logit
def test_random_logit_against_an_independent_computation(random_cnn, random_digits):
    ids = [11, 12, 13]
    result = random_logit.run(random_cnn, random_digits, ids, seed=4,
                              settings={"methods": ["gradient", "guided_backprop"], "metrics": ["spearman_abs"]})
    classes = random_cnn.predict(random_digits)
    others = random_logit.other_classes(classes, ids, 4, 10)
    for method, guided in (("gradient", False), ("guided_backprop", True)):
        a = random_cnn.input_gradients(random_digits, classes, guided=guided)
        b = random_cnn.input_gradients(random_digits, others, guided=guided)
        np.testing.assert_allclose(values(result.rows, method, "spearman_abs"),
                                   [rank_correlation(x, y) for x, y in zip(a, b)], atol=1e-6)
    assert [r["detail"] for r in result.rows if r["method"] == "gradient"] == \
        [f"{c}->{o}" for c, o in zip(classes, others)]
    assert set(values(result.rows, controls.EDGE, "spearman_abs")) == {1.0}


# ------------------------------------------------------------------------------------ input invariance
@pytest.mark.parametrize("architecture", ["cnn", "mlp"])
def test_shifted_model_computes_the_same_logits_and_gradient_is_invariant(architecture, rng):
    model = random_model = GraphModel(architecture, seed=3)
    x = rng.random((3, 28, 28, 1), dtype=np.float32)   # no constant regions (see the next test)
    shifted, compensated = model.shifted_input_model(-1.0)
    assert compensated == model.architecture.blocks[-1].scope + "/biases"
    try:
        np.testing.assert_allclose(shifted.predict_logits(x - 1.0), model.predict_logits(x), rtol=0, atol=2e-5)
        assert input_invariance.check_equivalence(model, shifted, x, -1.0, 1e-5) < 1e-5
        classes = model.predict(x)
        gradient = model.input_gradients(x, classes)
        np.testing.assert_array_equal(shifted.input_gradients(x - 1.0, classes), gradient)   # exactly
        times_input = gradient * x
        assert not np.allclose(shifted.input_gradients(x - 1.0, classes) * (x - 1.0), times_input)
        with pytest.raises(CheckError, match="differ from the original"):
            input_invariance.check_equivalence(model, shifted, x, -0.5, 1e-5)   # a wrong shift is refused
    finally:
        shifted.close()
        random_model.close()


def test_input_invariance_verdicts_per_baseline(rng):
    model = GraphModel("mlp", seed=4)
    # biases away from 0: IG's baseline point is then not on every ReLU's kink (see doc/sanity_report.md)
    model.set_weights({n: np.full_like(v, 0.05) for n, v in model.get_weights().items() if n.endswith("biases")})
    x = rng.random((2, 28, 28, 1), dtype=np.float32)
    try:
        result = input_invariance.run(model, x, [0, 1], settings={
            "methods": ["gradient", "gradient_x_input", "integrated_gradients"],
            "method_settings": {"integrated_gradients": {"x_steps": 8}}})
    finally:
        model.close()
    rows = result.rows
    assert max(values(rows, "gradient", "relative_l1")) == 0.0
    assert min(values(rows, "gradient_x_input", "relative_l1")) > 0.1
    assert min(values(rows, "integrated_gradients", "relative_l1", detail="zero baseline")) > 0.1
    assert max(values(rows, "integrated_gradients", "relative_l1", detail="shifted baseline")) < 1e-4
    assert max(values(rows, controls.EDGE, "relative_l1")) < 1e-6
    assert result.settings["compensated_variable"] == "mlp/hidden1/biases"


KINDERMANS = ["gradient", "smoothgrad", "guided_backprop", "gradient_x_input", "integrated_gradients"]
KINDERMANS_SETTINGS = {"smoothgrad": {"nsamples": 3}, "integrated_gradients": {"x_steps": 5}}
KINDERMANS_WITHOUT_NOISE = [name for name in KINDERMANS if name != "smoothgrad"]   # for the slower engines' tests


def assert_kindermans(rows, methods=KINDERMANS):
    """Kindermans et al.'s result: Gradient, SmoothGrad, Guided BackProp and IG with the shifted baseline are
    invariant to the compensated shift (exactly, or to rounding: the tied maxima of max-pooling over the zero
    background, and the ReLU kinks at the shifted baseline of zero biases, are broken as in the original, W m
    being computed in the same call as each path's batch of points), Gradient x Input and IG with a zero
    baseline are not. ``methods``: those the check ran (Gradient x Input and IG among them)."""
    invariant = [name for name in ("gradient", "smoothgrad", "guided_backprop") if name in methods]
    for name in invariant + [controls.EDGE]:
        assert max(values(rows, name, "relative_l1")) <= 1e-6, name
    assert max(values(rows, "integrated_gradients", "relative_l1", detail="shifted baseline")) <= 1e-6
    assert min(values(rows, "gradient_x_input", "relative_l1")) > 0.1
    assert min(values(rows, "integrated_gradients", "relative_l1", detail="zero baseline")) > 0.1


@pytest.mark.parametrize("name", ["random_cnn", "random_mlp"])
def test_input_invariance_on_a_max_pool_cnn_and_an_mlp_is_kindermans_result(name, random_digits, request):
    model = request.getfixturevalue(name)
    result = input_invariance.run(model, random_digits, [0, 1, 2], settings={
        "methods": KINDERMANS, "method_settings": KINDERMANS_SETTINGS})
    assert_kindermans(result.rows)


def test_input_invariance_is_the_same_whatever_the_block_split(random_cnn, random_digits, monkeypatch):
    """W m is computed in each call at the call's own batch shape: the max-pool CNN's Gradient and Guided
    BackProp stay exactly invariant in blocks of 16 images and of 1 (the ties over the zero background break
    alike whatever the batch), Gradient x Input's change agrees across them to rounding, and a run split
    into tasks gives the serial run's rows byte for byte (blocks keyed by image id)."""
    from sanity_checks import by_image

    settings = {"methods": ["gradient", "guided_backprop", "gradient_x_input"]}

    def scores(images, ids):
        rows = input_invariance.run(random_cnn, images, ids, settings=settings).rows
        return {(r["image"], r["method"], r["metric"], r["detail"]): r["value"] for r in rows}

    by_size = {}
    for size in (1, 16):
        monkeypatch.setattr(by_image, "BLOCK", size)
        by_size[size] = scores(random_digits, [0, 1, 2])
        changes = {(k[0], k[1]): v for k, v in by_size[size].items() if k[2] == "relative_l1"}
        assert [changes[i, m] for m in ("gradient", "guided_backprop") for i in range(3)] == [0.0] * 6, size
        assert min(changes[i, "gradient_x_input"] for i in range(3)) > 0.1
    assert by_size[1].keys() == by_size[16].keys()
    for key, value in by_size[16].items():
        assert by_size[1][key] == pytest.approx(value, rel=1e-5), key
    split = {**scores(random_digits[:2], [0, 1]), **scores(random_digits[2:], [2])}
    assert split == by_size[16]


# ------------------------------------------------------------------------------------ constant maps
class BrokenGradient:
    """A model whose plain gradient is zero (``broken="zero"``), or NaN on the image equal to ``image`` (the
    methods set a non-finite mask to zeros); everything else is the wrapped model's."""

    def __init__(self, model, broken, image=None):
        self._model, self._broken, self._image = model, broken, image

    def __getattr__(self, name):
        return getattr(self._model, name)

    def input_gradients(self, x, classes, guided=False, batch_size=None):
        g = self._model.input_gradients(x, classes, guided=guided, batch_size=batch_size)
        if guided:
            return g
        if self._broken == "zero":
            return np.zeros_like(g)
        g = g.copy()
        g[[np.array_equal(image, self._image) for image in x]] = np.nan
        return g


@pytest.mark.parametrize("broken,constant", [("zero", 3), ("nan", 1)])
def test_a_method_with_constant_maps_at_the_trained_model_is_invalid_never_pass(broken, constant, random_cnn,
                                                                                random_digits):
    from sanity_checks.report import judge_all
    from sanity_checks.report.markdown import format_cell

    model = BrokenGradient(random_cnn, broken, random_digits[1])
    result = mprt.run(model, random_digits, [0, 1, 2], seed=1, settings={
        "methods": FAST, "metrics": ["spearman_abs"], "orders": ["top-down"], "blocks": ["softmax_linear", "hidden1"]})
    trained = [r["image"] for r in result.rows if r["metric"] == "constant_map_reference" and r["method"] == "gradient"]
    assert sorted(set(trained)) == ([0, 1, 2] if broken == "zero" else [1])
    names = FAST + list(controls.CONTROLS)
    cells = judge_all(result.rows, names, seed=1)
    cell = cells[("gradient", "randomization top-down")]
    assert (cell.verdict, cell.constant, cell.images) == ("invalid", constant, 3)
    assert f"constant on {constant} of 3 images" in format_cell(cell)
    assert cells[("guided_backprop", "randomization top-down")].verdict != "invalid"
    assert all(c.constant == 0 for (n, _), c in cells.items() if n != "gradient")


def test_a_map_that_collapses_only_after_the_change_is_a_change_and_counted():
    from sanity_checks.report import judge_all
    from sanity_checks.report.markdown import format_cell
    from sanity_checks.checks.common import row

    rows = []
    for image in range(6):
        for name, value in (("gradient", 0.0), (controls.EDGE, 1.0), (controls.INPUT_NOISE, 0.9)):
            rows.append(row("random_logit", image, name, "ssim", value + 0.01 * image))
        if image < 2:   # the other class's map is constant on two images
            rows.append(row("random_logit", image, "gradient", "constant_map_compared", 1.0))
    cell = judge_all(rows, ["gradient", controls.EDGE, controls.INPUT_NOISE], seed=0)[("gradient", "random logit")]
    assert (cell.verdict, cell.constant, cell.collapsed) == ("pass", 0, 2)
    assert "2 of 6 maps collapsed" in format_cell(cell)


# ------------------------------------------------------------------------------------ faithfulness
def test_deletion_order_curve_and_area():
    mask = np.zeros((2, 2, 1))
    mask[1, 0, 0], mask[0, 1, 0] = 5.0, -7.0
    order = faithfulness.deletion_order(mask, tie_breaker=np.array([3, 2, 1, 0]))
    assert order.tolist() == [1, 2, 3, 0]             # |-7|, 5, then the tie (0, 0) in tie-breaker order
    assert faithfulness.deletion_order(mask, np.array([3, 2, 1, 0]), "signed").tolist()[:2] == [2, 3]
    image = np.arange(1.0, 5.0).reshape(2, 2, 1)
    deleted = faithfulness.deleted_images(image, order, steps=4, value=-1.0)
    assert deleted[0].ravel().tolist() == [1, 2, 3, 4] and deleted[2].ravel().tolist() == [1, -1, -1, 4]
    assert faithfulness.curve_area([1, 1, 1]) == 1.0 and faithfulness.curve_area([0, 1]) == 0.5


def test_faithfulness_rows_and_replacement(random_cnn, random_digits):
    result = faithfulness.run(random_cnn, random_digits[:2], [0, 1], settings={"methods": ["gradient"], "steps": 4,
                                                                               "replacement": "image_mean"})
    logits = random_cnn.predict_logits(random_digits[:2])
    classes = logits.argmax(1)
    first = values(result.rows, "gradient", "logit", step_index=0)
    np.testing.assert_allclose(first, logits[np.arange(2), classes], rtol=1e-6)
    last = values(result.rows, "gradient", "logit", step_index=4)
    blank = np.ones_like(random_digits[:2]) * random_digits[:2].reshape(2, -1).mean(1)[:, None, None, None]
    np.testing.assert_allclose(last, random_cnn.predict_logits(blank)[np.arange(2), classes], rtol=1e-5)
    with pytest.raises(CheckError, match="unknown replacement"):
        faithfulness.run(random_cnn, random_digits[:1], [0], settings={"replacement": "grey", "methods": ["gradient"]})


def test_an_inconclusive_cell_says_how_many_images_would_decide_it():
    from sanity_checks.checks.common import row
    from sanity_checks.report import judge_all
    from sanity_checks.report.markdown import decide_lines

    spread = np.array([-1.0, 1.0, -0.5, 0.5, 0.0, -1.0, 1.0, 0.0])   # mean 0
    rows = []
    for image, d in enumerate(spread):
        for name, value in (("gradient", 0.5 - 0.06 + d), (controls.EDGE, 0.5), (controls.INPUT_NOISE, 0.9)):
            rows.append(row("random_logit", image, name, "ssim", value))
    cell = judge_all(rows, ["gradient", controls.EDGE, controls.INPUT_NOISE], seed=0)[("gradient", "random logit")]
    assert cell.verdict == "inconclusive" and cell.decide["control"] == controls.EDGE
    # improvement 0.06 over the edge control, δ 0.05: the interval clears δ with (1.96 sd / 0.01)^2 images
    assert cell.decide["images"] == int(np.ceil((1.96 * spread.std(ddof=1) / 0.01) ** 2))
    line, = decide_lines({("gradient", "random logit"): cell}, ["gradient"])
    assert f"about {cell.decide['images']} images (this run: 8)" in line and "side of a pass" in line
