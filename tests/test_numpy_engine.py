"""The model contract is neutral: a model written in numpy alone (engines/numpy_mlp.py) runs every
method, the cascading and independent randomization, the noise test, the data randomization test, every
check of the report, resumable runs and shards, without TensorFlow (a pool of workers on a model without
TensorFlow: tests/test_pytorch_runners.py).

Its values are checked against independent computations (finite differences, PAIR's own classes fed by
the contract's call_model_function) and known invariances (input invariance of the gradient).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import methods, runs
from sanity_checks.engines.numpy_mlp import NumpyMLP
from sanity_checks.errors import ModelError
from sanity_checks.experiments import data_randomization, model_randomization
from sanity_checks.randomize import Randomizer, Strategy

REPO = Path(__file__).resolve().parents[1]
#: The report's checks with few samples: enough to exercise every code path.
QUICK = {"smoothgrad": {"nsamples": 5}, "vargrad": {"nruns": 5}, "integrated_gradients": {"x_steps": 10},
         "ig_smoothgrad": {"nsamples": 3, "x_steps": 10}}


def bars(n, seed):
    """(x (n, 12, 12, 1) float32 in [0, 1], y (n,)): class c is a bright bar in rows 4c..4c+2, on noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 12, 12, 1)).astype(np.float32) * 0.3
    for i, c in enumerate(y):
        x[i, 4 * c:4 * c + 3, 2:10, 0] += 0.7
    return x, y


@pytest.fixture(scope="module")
def trained():
    """A NumpyMLP trained on the bars (it learns them exactly); tests restore what they change."""
    model = NumpyMLP(seed=1, metadata={"data": None, "labels": "true"})
    x, y = bars(300, 0)
    assert model.fit(x, y, epochs=10, seed=0) == 1.0
    return model


@pytest.fixture(scope="module")
def images():
    return bars(4, 1)


def forward64(model, x):
    return model._forward(np.asarray(x, np.float64))[1][-1]


# ------------------------------------------------------------------------------------------ the engine
def test_input_gradient_equals_central_differences(trained, images):
    x, _ = images
    classes = trained.predict(x)
    gradient = trained.input_gradients(x, classes)
    eps = 1e-6
    flat = x.reshape(len(x), -1).astype(np.float64)
    for i in range(len(x)):
        expected = np.zeros(flat.shape[1])
        for j in range(flat.shape[1]):
            up, down = flat[i].copy(), flat[i].copy()
            up[j] += eps
            down[j] -= eps
            expected[j] = (forward64(trained, up.reshape(1, 12, 12, 1))[0, classes[i]]
                           - forward64(trained, down.reshape(1, 12, 12, 1))[0, classes[i]]) / (2 * eps)
        np.testing.assert_allclose(gradient[i].reshape(-1), expected, rtol=1e-4, atol=1e-5)


def test_guided_backprop_passes_only_positive_gradients_through_active_units(trained, images):
    """Guided backprop by hand on the two hidden layers."""
    x, _ = images
    classes = trained.predict(x)
    w = [trained.weights[f"{layer}/weights"].astype(np.float64) for layer in ("hidden1", "hidden2", "logits")]
    b = [trained.weights[f"{layer}/biases"].astype(np.float64) for layer in ("hidden1", "hidden2", "logits")]
    flat = x.reshape(len(x), -1).astype(np.float64)
    pre1 = flat @ w[0] + b[0]
    pre2 = np.maximum(pre1, 0) @ w[1] + b[1]
    g = w[2][:, classes].T
    g = np.maximum(g, 0) * (pre2 > 0)
    g = g @ w[1].T
    g = np.maximum(g, 0) * (pre1 > 0)
    expected = (g @ w[0].T).reshape(x.shape)
    np.testing.assert_allclose(trained.input_gradients(x, classes, guided=True), expected, rtol=1e-5, atol=1e-6)


def test_methods_equal_pair_fed_by_the_contracts_call_model_function(trained, images):
    import saliency.core as sc

    x, _ = images
    classes = trained.predict(x)
    call = trained.call_model_function(layer="hidden1")
    args = [{"class_idx": int(c)} for c in classes]
    expected = {
        "gradient": [sc.GradientSaliency().GetMask(xi, call, a) for xi, a in zip(x, args)],
        "integrated_gradients": [sc.IntegratedGradients().GetMask(xi, call, a, x_steps=50,
                                                                  x_baseline=np.zeros_like(xi), batch_size=50)
                                 for xi, a in zip(x, args)],
        "gradcam": [sc.GradCam().GetMask(xi, call, a, should_resize=True, three_dims=False)[..., None]
                    for xi, a in zip(x, args)],
    }
    # PAIR 0.2.1's core GradCam upsamples with scikit-image
    ours = methods.compute_masks(trained, x, list(expected), classes=classes, settings={"gradcam": {"resize": "skimage"}})
    for name, masks in expected.items():
        np.testing.assert_allclose(ours[name], np.stack(masks), rtol=1e-5, atol=1e-6, err_msg=name)


def test_every_method_runs_with_its_default_settings(trained, images):
    x, _ = images
    masks = methods.compute_masks(trained, x[:2])
    assert list(masks) == list(methods.METHODS)[:10]   # GradCAM too: hidden1 is read as a 4x4x4 grid
    for name, m in masks.items():
        assert m.shape == x[:2].shape and m.dtype == np.float32 and np.isfinite(m).all(), name


def test_shifted_input_model_computes_the_same_logits_and_the_gradient_stays(trained, images):
    x, _ = images
    shifted, name = trained.shifted_input_model(-1.0)
    assert name == "hidden1/biases"
    np.testing.assert_allclose(shifted.predict_logits(x - 1.0), trained.predict_logits(x), atol=1e-5)
    classes = trained.predict(x)
    np.testing.assert_allclose(shifted.input_gradients(x - 1.0, classes), trained.input_gradients(x, classes),
                               atol=1e-6)


def test_save_and_load_give_the_same_model_and_bad_files_are_refused(trained, images, tmp_path):
    from sanity_checks.loading import load_model

    path = trained.save(tmp_path / "mlp.npz")
    again = load_model(path)
    np.testing.assert_array_equal(again.predict_logits(images[0]), trained.predict_logits(images[0]))
    assert again.metadata == trained.metadata
    with pytest.raises(ModelError, match="no such variables"):
        again.set_weights({"conv/weights": np.zeros(3)})
    with pytest.raises(ModelError, match="shape"):
        again.set_weights({"logits/biases": np.zeros(4)})


# ------------------------------------------------------------------------------------------ randomization
@pytest.mark.parametrize("order", ["top-down", "bottom-up"])
def test_each_cascade_step_changes_exactly_its_blocks_and_restores_the_bytes(trained, order):
    trained_weights = trained.get_weights()
    randomizer = Randomizer(trained, seed=3, order=order)
    steps = randomizer.steps("cascading")
    assert [s.label for s in steps] == ["original"] + (["logits", "hidden2", "hidden1"] if order == "top-down"
                                                      else ["hidden1", "hidden2", "logits"])
    with randomizer:
        for step in steps:
            randomizer.randomize(step.blocks)
            now = trained.get_weights()
            changed = {n for n in now if not np.array_equal(now[n], trained_weights[n])}
            expected = {p.name for p in trained.parameters() if any(p.name.startswith(b + "/") for b in step.blocks)}
            assert changed == expected, step.label
            # re-drawn from the model's own initializer, keyed per parameter name
            for name in expected & {n for n in now if n.endswith("/weights")}:
                np.testing.assert_array_equal(
                    now[name], Strategy().perturb(name, trained_weights[name], runs_rng(3, name),
                                                  lambda seed: trained.initial_value(name, seed)))
    for name, value in trained.get_weights().items():
        np.testing.assert_array_equal(value, trained_weights[name])


def runs_rng(seed, name):
    from sanity_checks.random_streams import parameter_rng
    return parameter_rng(seed, name)


def test_cascading_independent_and_noise_runs(trained, images):
    x, _ = images
    cascade = model_randomization.run(trained, x, mode="cascading", methods=["gradient", "guided_backprop", "edge"],
                                      metrics=["spearman_abs"], seed=0, fixed_class=True, progress=False)
    summary = {(r["method"], r["step"]): [] for r in cascade.rows}
    for r in cascade.rows:
        summary[r["method"], r["step"]].append(r["value"])
    assert np.mean(summary["gradient", "original"]) == 1.0
    assert np.mean(summary["gradient", "hidden1"]) < 0.9        # a fully random network explains differently
    assert all(v == 1.0 for v in summary["edge", "hidden1"])   # the edge detector ignores the model
    independent = model_randomization.run(trained, x, mode="independent", methods=["gradient"],
                                          metrics=["spearman_abs"], progress=False)
    assert [s.label for s in independent.steps] == ["original", "logits", "hidden2", "hidden1"]
    noise = model_randomization.run(trained, x, mode="cascading", methods=["gradient"], metrics=["spearman_abs"],
                                    strategy=Strategy("noise", 0.0), progress=False)
    assert {r["value"] for r in noise.rows} == {1.0}            # zero noise: the same masks at every state


def test_data_randomization_against_a_random_label_model(trained, images):
    x_train, y_train = bars(300, 0)
    random_labels = NumpyMLP(seed=1, metadata={"data": None, "labels": "permuted"})
    random_labels.fit(x_train, np.random.default_rng(5).permutation(y_train), epochs=10, seed=0)
    result = data_randomization.run(trained, random_labels, images[0], methods=["gradient"],
                                    metrics=["spearman_abs"])
    values = {r["step"]: [] for r in result.rows}
    for r in result.rows:
        values[r["step"]].append(r["value"])
    assert np.mean(values["true labels"]) == 1.0 and np.mean(values["random labels"]) < 0.9


# ------------------------------------------------------------------------------------------ report and runs
def read_check_files(out):
    return {name: (out / name).read_bytes() for name in sorted(os.listdir(out)) if name.endswith(".csv")}


def test_every_check_of_the_report_runs_resumes_and_shards_to_the_same_bytes(trained, images, tmp_path):
    from sanity_checks import report
    from sanity_checks.checks import CHECKS, jobs

    x = images[0][:2]
    ids = list(range(len(x)))
    settings = {check: {"method_settings": QUICK} for check in CHECKS}
    path, cells = report.run_report(trained, x, ids, tmp_path / "serial", seed=0, settings=settings,
                                    progress=False, images_per_task=2)
    text = Path(path).read_text()
    assert "skipped" not in text.lower()
    for check in CHECKS:
        assert (tmp_path / "serial" / f"{check}.csv").is_file(), check
    rows = list(csv_rows(tmp_path / "serial" / "input_invariance.csv"))
    by_method = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(float(r["value"]))
    assert max(by_method["gradient"]) < 1e-4                       # Kindermans: the gradient is invariant
    assert min(by_method["gradient_x_input"]) > 1e-2                # Gradient⊙Input is not
    serial = read_check_files(tmp_path / "serial")

    # resumed: every part is there, nothing is computed again, the same bytes come out
    again, _ = report.run_report(trained, x, ids, tmp_path / "serial", seed=0, settings=settings, progress=False,
                                 images_per_task=2)
    assert read_check_files(tmp_path / "serial") == serial

    # shards of another task size: each runs its tasks, the last one merges
    job = jobs.in_memory_job(trained, x, ids, checks=list(CHECKS), seed=0, check_settings=settings,
                             images_per_task=1)
    out = tmp_path / "sharded"
    assert runs.run(job, out, shard=(1, 2), progress=False) is None
    merged = runs.run(job, out, shard=(2, 2), progress=False)
    report.write_outputs(out, merged, ids, 0, settings)
    assert read_check_files(out) == serial


def csv_rows(path):
    import csv
    with open(path, newline="") as f:
        yield from csv.DictReader(f)


def test_the_whole_pipeline_never_imports_tensorflow(tmp_path):
    """In a fresh process: methods, cascade, noise test, data randomization and the report on the numpy model."""
    script = f"""
import sys
import numpy as np
sys.path.insert(0, {str(REPO / 'tests')!r})
from test_numpy_engine import bars, QUICK
from sanity_checks.engines.numpy_mlp import NumpyMLP
from sanity_checks import methods, report
from sanity_checks.checks import CHECKS
from sanity_checks.experiments import data_randomization, model_randomization
from sanity_checks.randomize import Strategy
x, y = bars(200, 0)
model, other = NumpyMLP(seed=1), NumpyMLP(seed=2)
model.fit(x, y, epochs=5)
other.fit(x, np.random.default_rng(0).permutation(y), epochs=5)
images = bars(2, 1)[0]
methods.compute_masks(model, images)
model_randomization.run(model, images, progress=False, method_settings=QUICK)
model_randomization.run(model, images, strategy=Strategy("noise", 0.1), progress=False, method_settings=QUICK)
data_randomization.run(model, other, images, method_settings=QUICK)
report.run_report(model, images, [0, 1], {str(tmp_path / 'report')!r}, progress=False,
                  settings={{c: {{"method_settings": QUICK}} for c in CHECKS}})
print("tensorflow" in sys.modules, "torch" in sys.modules)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "False False"
