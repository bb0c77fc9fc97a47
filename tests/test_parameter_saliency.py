"""Parameter-space saliency: profiles against a hand computation, the second-order input gradient
against finite differences, statistics and their cache, pruning, and the command-line errors."""
import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import parameter_saliency as ps
from sanity_checks.compat import tf, tf1
from sanity_checks.errors import SanityCheckError
from sanity_checks.experiments import pruning
from sanity_checks.model import GraphModel
from sanity_checks.models import Architecture, Block

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = str(ROOT / "data")

# ------------------------------------------------------------------ a tiny net computed by hand in numpy
# input 5x5x1 -> conv 3x3 VALID, 3 filters, no bias -> tanh -> spatial mean -> dense 3x4 + bias -> logits

N_FILTERS, N_CLASSES = 3, 4


def _tiny_build(inputs):
    with tf1.variable_scope("conv"):
        pre = tf.nn.conv2d(inputs, tf1.get_variable("weights", [3, 3, 1, N_FILTERS]), 1, "VALID")
        hidden = tf.reduce_mean(tf.tanh(pre), axis=[1, 2])
    with tf1.variable_scope("dense"):
        logits = tf.matmul(hidden, tf1.get_variable("weights", [N_FILTERS, N_CLASSES])) \
            + tf1.get_variable("biases", [N_CLASSES])
    return logits, {"logits": logits}


TINY = Architecture("tiny", _tiny_build, (5, 5, 1), N_CLASSES, (Block("dense", "dense"), Block("conv", "conv")))


class NumpyTiny:
    """The tiny net and its exact gradients in float64."""

    def __init__(self, weights):
        self.w, self.wd, self.b = (weights[k].astype(np.float64) for k in ("conv/weights", "dense/weights",
                                                                            "dense/biases"))

    def gradients(self, x, y):
        x = x.astype(np.float64)
        patches = np.stack([[x[i:i + 3, j:j + 3] for j in range(3)] for i in range(3)])  # (3, 3, 3, 3, 1)
        t = np.tanh(np.einsum("ijabc,abcf->ijf", patches, self.w))
        hidden = t.mean(axis=(0, 1))
        logits = hidden @ self.wd + self.b
        p = np.exp(logits - logits.max())
        p /= p.sum()
        d_logits = p - np.eye(N_CLASSES)[y]                       # d(-log p_y) / d logits
        d_pre = (self.wd @ d_logits) / 9 * (1 - t ** 2)          # through mean and tanh
        return np.einsum("ijabc,ijf->abcf", patches, d_pre), np.outer(hidden, d_logits)

    def profile(self, x, y, dense=False, signed=False):
        g_conv, g_dense = self.gradients(x, y)
        agg = (lambda g, axes: g.mean(axis=axes)) if signed else (lambda g, axes: np.abs(g).mean(axis=axes))
        parts = [agg(g_conv, (0, 1, 2))] + ([agg(g_dense, 0)] if dense else [])
        return np.concatenate(parts)


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(5)
    model = GraphModel(TINY, seed=0)
    model.set_weights({"conv/weights": rng.normal(0, 1, (3, 3, 1, N_FILTERS)),
                       "dense/weights": rng.normal(0, 1, (N_FILTERS, N_CLASSES)),
                       "dense/biases": rng.normal(0, 0.1, N_CLASSES)})
    yield model, NumpyTiny(model.get_weights())
    model.close()



# ------------------------------------------------------------------ profiles

def test_cnn_profile_has_one_entry_per_conv_filter(random_cnn, random_digits):
    saliency = ps.ParameterSaliency(random_cnn)
    assert [(layer.variable, layer.size, layer.start) for layer in saliency.layers] == [
        ("hidden1/weights", 32, 0), ("hidden2/weights", 64, 32)]
    assert saliency.n_filters == 96
    profiles = saliency.profiles(random_digits[:2], [3, 7])
    assert profiles.shape == (2, 96) and np.all(profiles >= 0) and np.all(np.isfinite(profiles))
    assert ps.ParameterSaliency(random_cnn, dense=True).n_filters == 96 + 1024 + 10
    assert saliency.describe(40) == "hidden2/weights filter 8"


@pytest.mark.parametrize("dense, signed", [(False, False), (True, False), (False, True)])
def test_tiny_profile_equals_the_mean_absolute_kernel_gradient_computed_by_hand(tiny, rng, dense, signed):
    model, reference = tiny
    saliency = ps.ParameterSaliency(model, dense=dense, signed=signed)
    images = rng.uniform(0, 1, (3, 5, 5, 1)).astype(np.float32)
    labels = [0, 2, 3]
    expected = np.stack([reference.profile(x, y, dense, signed) for x, y in zip(images, labels)])
    np.testing.assert_allclose(saliency.profiles(images, labels), expected, rtol=2e-5, atol=1e-7)


def test_profiles_are_per_image_not_summed_over_a_batch(tiny, rng):
    model, _ = tiny
    saliency = ps.ParameterSaliency(model)
    images = rng.uniform(0, 1, (2, 5, 5, 1)).astype(np.float32)
    both = saliency.profiles(images, [1, 2])
    np.testing.assert_array_equal(both[1], saliency.profiles(images[1:], [2])[0])
    with pytest.raises(ValueError):
        saliency._feed(images, [1, 2])


def test_second_order_input_gradient_matches_finite_differences(tiny, rng):
    model, reference = tiny
    saliency = ps.ParameterSaliency(model)
    stats = ps.SaliencyStats(mean=np.array([0.02, 0.05, 0.01]), std=np.array([0.5, 2.0, 0.1]), count=10)
    x, y = rng.uniform(0, 1, (5, 5, 1)), 1
    result = saliency.input_saliency(x, y, stats, k=1, boost_factor=100.0)
    boosted = result.z.copy()
    boosted[result.top] *= 100.0

    def cosine(image):
        z = stats.standardize(reference.profile(image, y))
        return z @ boosted / (np.linalg.norm(z) * np.linalg.norm(boosted))

    eps = 1e-6
    finite = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = eps
        finite[idx] = (cosine(x + step) - cosine(x - step)) / (2 * eps)
    assert result.cosine == pytest.approx(cosine(x), rel=1e-5)
    assert np.abs(finite).max() > 1e-3  # a real signal, not zeros
    np.testing.assert_allclose(result.gradient, finite, rtol=1e-3, atol=1e-4 * np.abs(finite).max())
    np.testing.assert_array_equal(result.top, [np.argmax(result.z)])


def test_rank_filters_orders():
    z = np.array([0.5, -3.0, 2.0, 0.0, -0.1])
    np.testing.assert_array_equal(ps.rank_filters(z, "salient", rank="signed"), [2, 0, 3, 4, 1])
    np.testing.assert_array_equal(ps.rank_filters(z, "salient", rank="abs"), [1, 2, 0, 4, 3])
    np.testing.assert_array_equal(ps.rank_filters(z, "least", rank="abs"), [3, 4, 0, 2, 1])
    first = ps.rank_filters(z, "random", rng=np.random.default_rng(3))
    np.testing.assert_array_equal(first, ps.rank_filters(z, "random", rng=np.random.default_rng(3)))
    assert sorted(first) == list(range(5))
    with pytest.raises(ValueError):
        ps.rank_filters(z, "random")


# ------------------------------------------------------------------ statistics and their cache

def test_running_stats_equal_numpy_whatever_the_batching(rng):
    values = rng.normal(3.0, 0.01, (37, 4)) * [1, 10, 100, 0]   # last column constant: std 0 -> 1
    running = ps.RunningStats(4)
    for part in np.array_split(values, [1, 2, 10, 30]):
        running.update(part)
    stats = running.result()
    assert stats.count == 37
    np.testing.assert_allclose(stats.mean, values.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.std[:3], values[:, :3].std(axis=0, ddof=1), rtol=1e-9)
    assert stats.std[3] == 1.0
    with pytest.raises(SanityCheckError):
        ps.RunningStats(4).result()


def test_standardizing_the_reference_set_gives_mean_0_and_std_1(random_cnn, random_digits, rng):
    saliency = ps.ParameterSaliency(random_cnn)
    images = np.concatenate([random_digits, random_digits[:, ::-1], random_digits[:, :, ::-1]])
    labels = rng.integers(0, 10, len(images))
    stats = ps.reference_stats(saliency, ps.reference_from_arrays(images, labels, "digits"))
    z = stats.standardize(saliency.profiles(images, labels))
    live = stats.std != 1.0
    assert live.sum() > 80
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0, ddof=1)[live], 1, rtol=1e-5)


def _file_digests(folder):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in sorted(os.listdir(folder))}


def test_stats_cache_is_reused_recomputed_on_change_and_never_touches_the_checkpoint(tmp_path, random_digits):
    folder = tmp_path / "model"
    model = GraphModel("cnn", seed=4)
    model.save(str(folder), {"data": "fashion"})
    before = _file_digests(folder)
    saliency = ps.ParameterSaliency(model)
    images, labels = random_digits, np.array([1, 2, 3])
    reference = ps.reference_from_arrays(images, labels, "digits")
    logs = []

    first = ps.cached_reference_stats(saliency, reference, str(folder), log=logs.append)
    again = ps.cached_reference_stats(saliency, reference, str(folder), log=logs.append)
    assert not first.from_cache and again.from_cache
    np.testing.assert_array_equal(first.mean, again.mean)
    np.testing.assert_array_equal(first.std, again.std)
    assert first.settings["reference"]["count"] == 3 and first.settings["aggregation"] == "mean_abs"

    other_images = ps.reference_from_arrays(images, labels, "digits", limit=2)
    assert not ps.cached_reference_stats(saliency, other_images, str(folder), log=logs.append).from_cache
    assert not ps.cached_reference_stats(saliency, reference, str(folder), log=logs.append).from_cache
    signed = ps.ParameterSaliency(model, signed=True)   # its own cache file: the default one stays valid
    assert not ps.cached_reference_stats(signed, reference, str(folder), log=logs.append).from_cache
    assert ps.cached_reference_stats(saliency, reference, str(folder), log=logs.append).from_cache

    weights = model.get_weights()
    changed = weights["hidden1/weights"].copy()
    changed[0, 0, 0, 0] += 1.0
    model.set_weights({"hidden1/weights": changed})
    assert not ps.cached_reference_stats(saliency, reference, str(folder), log=logs.append).from_cache
    model.set_weights({"hidden1/weights": weights["hidden1/weights"]})

    npz, _ = ps.stats_paths(str(folder), saliency)
    Path(npz).write_bytes(b"not an npz")
    recomputed = ps.cached_reference_stats(saliency, reference, str(folder), log=logs.append)
    assert not recomputed.from_cache
    np.testing.assert_array_equal(recomputed.mean, first.mean)

    after = _file_digests(folder)
    assert {k: v for k, v in after.items() if not k.startswith(ps.STATS_BASENAME)} == before
    assert sorted(set(after) - set(before)) == sorted(
        f"{ps.STATS_BASENAME}{kind}.{ext}" for kind in ("", "_signed") for ext in ("json", "npz"))
    model.close()


# ------------------------------------------------------------------ visualization

def test_heatmap_clips_rescales_and_blurs(rng):
    gradient = np.zeros((20, 20, 3))
    gradient[..., 0] = rng.uniform(0, 0.1, (20, 20))
    gradient[11:14, 7:10, 2] = 3.0
    heat = ps.heatmap(gradient)
    assert heat.shape == (20, 20) and heat.min() >= 0 and heat.max() <= 1
    assert np.unravel_index(heat.argmax(), heat.shape) == (12, 8) and heat[12, 8] == pytest.approx(1.0)
    negative = gradient.copy()
    negative[11:14, 7:10] = [0.0, -3.0, 0.0]   # signed max over channels: 0, not salient
    assert ps.heatmap(negative)[12, 8] == 0

    two_dots = np.zeros((10, 10, 1))
    two_dots[2, 2] = two_dots[7, 7] = 5.0      # p90 = 0, p99 = 5: two ones, then a 3x3 blur
    heat = ps.heatmap(two_dots)
    assert set(zip(*np.nonzero(heat))) == {(i, j) for c in (2, 7) for i in (c - 1, c, c + 1) for j in (c - 1, c, c + 1)}
    assert np.all(ps.heatmap(np.ones((8, 8, 1))) == 0)
    rgb = ps.overlay(np.full((10, 10, 1), 0.5), heat)
    assert rgb.shape == (10, 10, 3) and rgb.max() == pytest.approx(1.0)


def test_sort_filters_layer_wise():
    layers = [ps.Layer("a", "conv", (1, 1, 1, 2), 0), ps.Layer("b", "conv", (1, 1, 1, 3), 2)]
    np.testing.assert_array_equal(ps.sort_filters_layer_wise([1, 2, 5, -1, 7], layers), [2, 1, 7, 5, -1])


# ------------------------------------------------------------------ pruning

def test_pruner_zeroes_exactly_the_chosen_filters_and_restores_the_bytes(cnn):
    saliency = ps.ParameterSaliency(cnn)
    snapshot = cnn.get_weights()
    with pruning.FilterPruner(cnn, saliency.layers) as pruner:
        pruner.zero([3, 40])
        pruner.zero(95)
        now = cnn.get_weights()
        assert sorted(n for n in now if not np.array_equal(now[n], snapshot[n])) == ["hidden1/weights",
                                                                                      "hidden2/weights"]
        for name, filters in (("hidden1/weights", [3]), ("hidden2/weights", [8, 63])):
            zeroed = np.all(now[name] == 0, axis=(0, 1, 2))
            assert list(np.flatnonzero(zeroed)) == filters
            keep = np.setdiff1d(np.arange(now[name].shape[-1]), filters)
            np.testing.assert_array_equal(now[name][..., keep], snapshot[name][..., keep])
    restored = cnn.get_weights()
    assert all(np.array_equal(restored[n], snapshot[n]) for n in snapshot)


def test_pruning_check_rows_summary_and_restore(cnn, random_digits):
    saliency = ps.ParameterSaliency(cnn)
    stats = ps.reference_stats(saliency, ps.reference_from_arrays(random_digits, [0, 1, 2], "digits"))
    snapshot = cnn.get_weights()
    labels = (cnn.predict(random_digits[:2]) + 1) % 10          # wrong on purpose
    result = pruning.pruning_check(cnn, saliency, stats, random_digits[:2], labels, ids=[7, 9], k_max=3, seed=1,
                                   random_draws=2)
    assert len(result.rows) == 2 * 3 * (1 + 1 + 2)
    assert {(r["image"], r["mode"], r["draw"]) for r in result.rows} == \
        {(i, m, d) for i in (7, 9) for m in pruning.MODES for d in ((0, 1) if m == "random" else (0,))}
    orders = {d: [r["filter"] for r in result.rows if r["mode"] == "random" and r["image"] == 7 and r["draw"] == d]
              for d in (0, 1)}
    assert orders[0] != orders[1]
    for r in result.rows:
        assert r["flipped"] == int(r["prediction"] == r["true"])
    salient = [r for r in result.rows if r["mode"] == "salient" and r["image"] == 7]
    z = stats.standardize(saliency.profiles(random_digits[:1], labels[:1]))[0]
    np.testing.assert_array_equal([r["filter"] for r in salient], np.argsort(-np.abs(z), kind="stable")[:3])
    again = pruning.pruning_check(cnn, saliency, stats, random_digits[:2], labels, ids=[7, 9], k_max=3, seed=1,
                                  random_draws=2)
    assert again.rows == result.rows
    restored = cnn.get_weights()
    assert all(np.array_equal(restored[n], snapshot[n]) for n in snapshot)
    summary = pruning.summarize(result.rows)
    assert set(summary) == set(pruning.MODES) and set(summary["random"]) == {1, 2, 3}
    assert 0 <= summary["salient"][3]["flip_rate"] <= 1 and summary["least"][1]["n"] == 2
    group = [r for r in result.rows if r["mode"] == "random" and r["k"] == 2]
    assert summary["random"][2]["flip_rate"] == np.mean([r["flipped"] for r in group])
    per_image = [np.mean([r["flipped"] for r in group if r["image"] == i]) for i in (7, 9)]
    assert summary["random"][2]["n"] == 2
    assert np.isclose(summary["random"][2]["flip_rate_se"], np.std(per_image, ddof=1) / np.sqrt(2))
    with pytest.raises(ValueError, match="random_draws"):
        pruning.pruning_check(cnn, saliency, stats, random_digits[:1], labels[:1], random_draws=0)


# ------------------------------------------------------------------ command line

@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ps") / "cnn_random"
    with GraphModel("cnn", seed=2) as model:
        model.save(str(folder), {"data": "fashion"})
    return str(folder)


def _input_saliency(*argv):
    from sanity_checks.cli.parameter_saliency import input_saliency_main
    return input_saliency_main(list(argv))


@pytest.mark.parametrize("argv, message", [
    (["--image_path", "no/such/image.png", "--image_target_label", "1"], "does not exist"),
    (["--image_path", "{garbage}", "--image_target_label", "1"], "cannot read"),
    (["--image_path", "{image}", "--image_target_label", "10"], "must be in 0..9, got 10"),
    (["--reference_id", "10000"], "out of range"),
    (["--reference_id", "-1"], "out of range"),
])
def test_input_saliency_cli_errors(model_folder, tmp_path, argv, message):
    from PIL import Image
    garbage, image = tmp_path / "garbage.png", tmp_path / "image.png"
    garbage.write_bytes(b"this is no png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    argv = [a.format(garbage=garbage, image=image) for a in argv]
    with pytest.raises(SanityCheckError, match=message):
        _input_saliency("--model", model_folder, "--data-root", DATA_ROOT, *argv)


def test_input_saliency_cli_writes_both_figures(model_folder, tmp_path, capsys):
    from PIL import Image
    image = tmp_path / "shirt.png"
    Image.fromarray((np.random.default_rng(0).uniform(0, 255, (40, 30))).astype(np.uint8)).save(image)
    common = ["--model", model_folder, "--data-root", DATA_ROOT, "--max_reference_images", "6", "--quiet",
              "--figure_folder", str(tmp_path / "figures")]
    result = _input_saliency(*common, "--reference_id", "3", "--k_salient", "4")
    out = capsys.readouterr().out
    assert "target class: " in out and "predicted class: " in out and "Total filters: 96" in out
    assert len(result.top) == 4 and result.gradient.shape == (28, 28, 1)
    _input_saliency(*common, "--image_path", str(image), "--image_target_label", "6", "--compare_random")
    assert "reference statistics over fashion validation split (6 of 5000 images): cached" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "figures")) == [
        "filter_saliency_3_cnn.png", "filter_saliency_shirt_cnn.png",
        "input_saliency_heatmap_3_cnn.png", "input_saliency_heatmap_shirt_cnn.png"]


def test_cli_script_prints_one_line_error(model_folder):
    proc = subprocess.run([sys.executable, str(ROOT / "src" / "parameter_and_input_saliency.py"), "--model",
                           model_folder, "--image_path", "missing.png", "--image_target_label", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]  # TensorFlow logs aside
    assert errors == ["error: image missing.png does not exist"] and "Traceback" not in proc.stderr


def test_pruning_cli_writes_csv_summary_and_figure(model_folder, tmp_path):
    import json
    from sanity_checks.cli.parameter_saliency import pruning_main
    out = tmp_path / "pruning"
    report = pruning_main(["--model", model_folder, "--data-root", DATA_ROOT, "--out", str(out), "--max-images", "2",
                           "--k-max", "2", "--max_reference_images", "6", "--random-draws", "3", "--quiet"])
    assert sorted(os.listdir(out)) == ["flip_rate.png", "results.csv", "summary.json"]
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 2 * 2 * (1 + 1 + 3)
    stored = json.loads((out / "summary.json").read_text())
    assert stored["settings"]["rank"] == "abs" and set(stored["summary"]) == set(pruning.MODES)
    assert report["settings"]["n_images"] == 2 and report["settings"]["random_draws"] == 3


# ------------------------------------------------------------------ Inception v3 (when the model exists)

@pytest.mark.skipif(importlib.util.find_spec("sanity_checks.models.inception_v3") is None,
                    reason="Inception v3 is not part of this checkout")
def test_inception_v3_profile_and_input_saliency(rng):
    with GraphModel("inception_v3", seed=0) as model:
        saliency = ps.ParameterSaliency(model)
        kernels = [v for v in model.variables if v.trainable and v.shape.rank == 4]
        assert 0 < len(saliency.layers) <= len(kernels)
        assert saliency.n_filters == sum(layer.size for layer in saliency.layers)
        low, high = model.architecture.input_range or (0.0, 1.0)
        image = rng.uniform(low, high, model.architecture.input_shape).astype(np.float32)
        result = saliency.input_saliency(image, 5)
        assert result.profile.shape == (saliency.n_filters,)
        assert result.gradient.shape == tuple(model.architecture.input_shape)
        assert np.all(np.isfinite(result.gradient))
