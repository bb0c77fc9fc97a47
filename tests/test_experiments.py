"""The randomization experiments and their command-line runners."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sanity_checks.errors import SanityCheckError
from sanity_checks.experiments import data_randomization, model_randomization, results
from sanity_checks.cli.randomization import data_randomization_main, model_randomization_main
from sanity_checks.methods import QUICK_SETTINGS
from sanity_checks.model import GraphModel
from sanity_checks.randomize import Strategy

REPO = Path(__file__).resolve().parents[1]
FAST = ["gradient", "guided_backprop", "gradcam", "edge"]



@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).random((3, 28, 28, 1), dtype=np.float32)


def values(result, step, method, metric):
    return [r["value"] for r in result.rows if r["step"] == step and r["method"] == method and r["metric"] == metric]


def test_cascading_run_rows_reference_and_restored_weights(cnn, images):
    before = cnn.get_weights()
    result = model_randomization.run(cnn, images, methods=FAST + ["smoothgrad"], method_settings=QUICK_SETTINGS,
                                     progress=False)
    steps = ["original", "softmax_linear", "fc1", "hidden2", "hidden1"]
    assert [s.label for s in result.steps] == steps
    assert result.metrics == ["spearman_abs", "spearman_signed", "ssim"]  # no HOG for 28x28 masks
    assert len(result.rows) == len(steps) * 5 * len(images) * 3
    for method in result.methods:  # every method (noisy ones too: same noise) matches itself at step 0
        assert values(result, "original", method, "spearman_abs") == pytest.approx([1.0] * 3)
    for step in steps:  # a model-free explainer is exactly as similar as it can be at every step
        assert values(result, step, "edge", "spearman_signed") == pytest.approx([1.0] * 3)
    # Randomizing everything destroys the gradient's ranking
    assert np.mean(values(result, "hidden1", "gradient", "spearman_signed")) < 0.5
    after = cnn.get_weights()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert set(result.masks) == set(steps) and result.masks["fc1"]["gradient"].shape == (1, 28, 28, 1)


def test_zero_noise_leaves_masks_unchanged_and_a_level_changes_only_the_chosen_blocks(cnn, images):
    result = model_randomization.run(cnn, images, methods=["gradient", "guided_backprop"], progress=False,
                                     strategy=Strategy("noise", 0.0), level=0.0)
    assert all(r["value"] == pytest.approx(1.0) for r in result.rows)
    result = model_randomization.run(cnn, images, methods=["gradient"], metrics=["spearman_signed"], progress=False,
                                     mode="independent", blocks=["hidden1"], strategy=Strategy("noise", 0.3))
    assert [s.blocks for s in result.steps] == [(), ("hidden1",)]
    assert np.mean(values(result, "hidden1", "gradient", "spearman_signed")) < 0.99


def test_fixed_class_keeps_the_trained_class(cnn, images):
    result = model_randomization.run(cnn, images, methods=["gradient"], metrics=["spearman_abs"], fixed_class=True,
                                     progress=False, blocks=["softmax_linear"])
    np.testing.assert_array_equal(result.classes["softmax_linear"], result.classes["original"])
    assert result.settings["class_explained"].startswith("trained model's class")


def test_bad_names_list_the_valid_ones(cnn, images):
    with pytest.raises(SanityCheckError, match="valid blocks: softmax_linear, fc1, hidden2, hidden1"):
        model_randomization.run(cnn, images, blocks=["conv9"], progress=False)
    with pytest.raises(SanityCheckError, match="valid methods: gradient"):
        model_randomization.run(cnn, images, methods=["lrp"], progress=False)
    with pytest.raises(SanityCheckError, match="spearman_abs"):
        model_randomization.run(cnn, images, metrics=["pearson"], progress=False)


def test_data_randomization_compares_two_models(cnn, images):
    other = GraphModel("cnn", seed=99)
    result = data_randomization.run(cnn, other, images, methods=["gradient", "edge"], metrics=["spearman_abs"])
    assert values(result, "true labels", "gradient", "spearman_abs") == pytest.approx([1.0] * 3)
    assert values(result, "random labels", "edge", "spearman_abs") == pytest.approx([1.0] * 3)
    assert np.mean(values(result, "random labels", "gradient", "spearman_abs")) < 0.9
    with pytest.raises(SanityCheckError, match="different architectures"):
        data_randomization.run(cnn, GraphModel("mlp", seed=0), images)


def test_summary_and_csv_round_trip(tmp_path):
    rows = [{"image": i, "method": "m", "step_index": 0, "step": "s", "metric": "x", "value": v,
             "class_explained": 1, "level": None} for i, v in enumerate([0.2, 0.4])]
    summary = results.summarize(rows)
    assert summary["m"]["s"]["x"] == {"mean": pytest.approx(0.3), "std": pytest.approx(0.1), "n": 2}
    path = results.write_csv(rows, tmp_path / "r.csv")
    back = results.read_csv(path)
    assert [r["value"] for r in back] == [0.2, 0.4] and back[1]["image"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]  # no temporary file left behind


def test_model_randomization_cli_writes_results_and_figures(model_folder, data_root, tmp_path):
    out = tmp_path / "out"
    model_randomization_main(["--model", str(model_folder), "--out", str(out), "--images", "2", "--quick",
                              "--methods", "gradient", "gradcam", "--data-root", str(data_root), "--eval-images", "20"])
    names = sorted(p.name for p in out.iterdir())
    assert names == ["curves_spearman_abs.png", "curves_spearman_signed.png", "curves_ssim.png",
                     "mask_grid_abs.png", "mask_grid_signed.png", "parts", "results.csv", "run.json", "summary.json"]
    rows = results.read_csv(out / "results.csv")
    assert len(rows) == 5 * 2 * 2 * 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["seed"] == 0 and summary["settings"]["quick"] is True
    assert set(summary["summary"]["gradient"]) == {"original", "softmax_linear", "fc1", "hidden2", "hidden1"}
    assert set(summary["test_accuracy"]) == {"original", "softmax_linear", "fc1", "hidden2", "hidden1"}
    assert "tensorflow" in summary["versions"]
    # each state's accuracy is measured on the first --eval-images test images, and says so
    assert summary["test_accuracy_images"] == summary["settings"]["accuracy_images"] == 20
    from sanity_checks.data import load_dataset
    from sanity_checks.loading import load_model
    test = load_dataset("mnist", root=data_root)
    with load_model(str(model_folder)) as trained:
        assert summary["test_accuracy"]["original"] == trained.accuracy(test.x_test[:20], test.y_test[:20])


def test_bottom_up_shuffle_cli(model_folder, data_root, tmp_path):
    out = tmp_path / "bottom_up"
    model_randomization_main(["--model", str(model_folder), "--out", str(out), "--images", "2", "--order", "bottom-up",
                              "--randomization", "shuffle", "--methods", "gradient", "--metrics", "spearman_signed",
                              "--data-root", str(data_root)])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["order"] == "bottom-up"
    assert summary["settings"]["randomization"] == "values permuted in place (seeded)"
    rows = results.read_csv(out / "results.csv")
    assert [r["step"] for r in rows if r["image"] == 0] == ["original", "hidden1", "hidden2", "fc1", "softmax_linear"]


def test_noise_mode_cli(model_folder, data_root, tmp_path):
    out = tmp_path / "noise"
    model_randomization_main(["--model", str(model_folder), "--out", str(out), "--images", "2", "--mode", "noise",
                              "--noise-levels", "0", "0.5", "--relative-noise", "--methods", "gradient",
                              "--metrics", "spearman_signed", "--data-root", str(data_root)])
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["summary"]) == {"0.0", "0.5"}
    assert all(s["spearman_signed"]["mean"] == pytest.approx(1.0) for s in summary["summary"]["0.0"]["gradient"].values())
    assert summary["summary"]["0.5"]["gradient"]["hidden1"]["spearman_signed"]["mean"] < 0.99
    acc = summary["test_accuracy"]
    assert len(set(acc["0.0"].values())) == 1  # zero noise: the same model at every step
    assert summary["test_accuracy_images"] == 50  # the default 1,000, capped by the 50 test images
    assert (out / "noise_accuracy.png").exists() and (out / "noise_curves_spearman_signed.png").exists()


def test_data_randomization_cli(model_folder, data_root, tmp_path):
    other = GraphModel("cnn", seed=9)
    other.save(tmp_path / "rand", {"data": "mnist", "labels": "permuted"})
    out = tmp_path / "data_rand"
    data_randomization_main(["--model", str(model_folder), "--random-model", str(tmp_path / "rand"), "--out",
                             str(out), "--images", "2", "--methods", "gradient", "edge", "--data-root", str(data_root)])
    assert {"bars_spearman_abs.png", "bars_spearman_signed.png", "masks.png", "results.csv", "summary.json"} <= \
        {p.name for p in out.iterdir()}


def test_cli_errors_are_one_line(model_folder, data_root, tmp_path):
    script = REPO / "src" / "run_model_randomization.py"
    cases = [(["--model", str(model_folder), "--out", str(tmp_path / "x"), "--data-root", str(data_root), "--quick",
               *extra], message)
             for extra, message in [(["--blocks", "fc9"], "valid blocks"), (["--methods", "lime"], "valid methods"),
                                    (["--images", "0"], "--images must be in")]]
    cases.append((["--model", str(tmp_path / "nope"), "--out", str(tmp_path)], "does not exist"))
    # the processes run at once: each spends most of its time importing TensorFlow on one core
    running = [(subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True), message) for args, message in cases]
    for process, message in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, stderr
        assert message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "x").exists()  # nothing half-written


def test_set_overrides_method_settings():
    from argparse import Namespace

    from sanity_checks.cli.options import method_settings, parse_override
    assert parse_override("smoothgrad.nsamples=100") == ("smoothgrad", "nsamples", 100)
    assert parse_override("gradcam.resize=tf1_bilinear") == ("gradcam", "resize", "tf1_bilinear")
    settings = method_settings(Namespace(quick=True, overrides=["smoothgrad.nsamples=7", "smoothgrad.magnitude=true"]))
    assert settings["smoothgrad"] == {"nsamples": 7, "magnitude": True}
    assert settings["vargrad"] == QUICK_SETTINGS["vargrad"]
    assert method_settings(Namespace(quick=False, overrides=[])) is None
    with pytest.raises(SanityCheckError, match="valid settings: stdev_spread, nsamples, magnitude"):
        method_settings(Namespace(quick=False, overrides=["smoothgrad.samples=3"]))


def test_noise_per_state_is_fresh_and_seeded_shared_is_one_realization(cnn, images):
    """With zero weight noise every state is the trained model: shared noise reproduces its masks
    exactly; per-state noise draws fresh noise (seeded by the run seed and the state), as the original."""
    from sanity_checks.experiments.model_randomization import state_seed
    from sanity_checks.methods import compute_masks

    settings = {"smoothgrad": {"nsamples": 3}}
    kwargs = dict(methods=["smoothgrad"], metrics=["spearman_signed"], strategy=Strategy("noise", 0.0),
                  blocks=["softmax_linear"], method_settings=settings, progress=False, seed=4)
    shared = model_randomization.run(cnn, images, noise="shared", **kwargs)
    assert values(shared, "softmax_linear", "smoothgrad", "spearman_signed") == pytest.approx([1.0] * 3)
    fresh = model_randomization.run(cnn, images, noise="per-state", **kwargs)
    assert max(values(fresh, "softmax_linear", "smoothgrad", "spearman_signed")) < 0.999
    classes = fresh.classes["original"]
    for step, index in (("original", 0), ("softmax_linear", 1)):  # each state's masks: a plain call with its seed
        expected = compute_masks(cnn, images[:1], ["smoothgrad"], classes=classes[:1], seed=state_seed(4, index),
                                 settings=settings)["smoothgrad"]
        # the run computes the image in a block of 16 (by_image), this plain call alone: rounding differs (~1e-7)
        np.testing.assert_allclose(fresh.masks[step]["smoothgrad"], expected, rtol=1e-5, atol=1e-6)
    assert state_seed(4, 0) == 4 and state_seed(4, 1) == state_seed(4, 1) != state_seed(4, 2)
    with pytest.raises(SanityCheckError, match="per-state, shared"):
        model_randomization.run(cnn, images, noise="fresh", **kwargs)


def test_first_image_selects_later_test_images_and_names_them(model_folder, data_root, tmp_path):
    args = ["--model", str(model_folder), "--methods", "gradient", "--metrics", "spearman_signed",
            "--blocks", "softmax_linear", "--data-root", str(data_root)]
    model_randomization_main(args + ["--out", str(tmp_path / "all"), "--images", "3"])
    model_randomization_main(args + ["--out", str(tmp_path / "later"), "--images", "2", "--first-image", "1"])
    every = {(r["image"], r["step"]): r["value"] for r in results.read_csv(tmp_path / "all" / "results.csv")}
    later = results.read_csv(tmp_path / "later" / "results.csv")
    assert sorted({r["image"] for r in later}) == [1, 2]
    assert all(r["value"] == pytest.approx(every[(r["image"], r["step"])]) for r in later)
    with pytest.raises(SanityCheckError, match="--images must be in 1..49"):
        model_randomization_main(args + ["--out", str(tmp_path / "x"), "--first-image", "1", "--images", "50"])


def test_a_runs_warnings_are_said_once_with_counts_and_progress_shows_each_state(model_folder, data_root, tmp_path,
                                                                               monkeypatch, capsys):
    """A method whose maps are all zero at every state: one line for the run (not one per state), its counts
    in summary.json; a bar over the model states inside the task, with the method at work."""
    import dataclasses

    from sanity_checks import progress
    from sanity_checks.methods import registry

    zeros = dataclasses.replace(registry.SPECS["gradient"],
                                function=lambda model, x, classes=None, **kw: np.zeros(x.shape, np.float32))
    monkeypatch.setitem(registry._REGISTRY, "gradient", zeros)
    monkeypatch.setattr(progress, "wanted", bool)   # as on a terminal
    out = tmp_path / "out"
    model_randomization_main(["--model", str(model_folder), "--methods", "gradient", "guided_backprop", "--metrics",
                              "spearman_abs", "--blocks", "softmax_linear", "fc1", "--images", "3", "--eval-images",
                              "0", "--images-per-task", "2", "--data-root", str(data_root), "--out", str(out)])
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "all-zero" in line]
    assert said == ["warning: Gradient: all-zero maps at 3 of 3 model states, images 0-2"]
    assert "DegenerateMaskWarning" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["warnings"] == {"Gradient: all-zero maps": {"states": 3, "of_states": 3, "images": [0, 1, 2],
                                                               "elsewhere": 0}}
    assert "model states" in err and ("state/s" in err or "s/state" in err)
    assert "softmax_linear · Guided BackProp" in err
    assert not progress.enabled()


def test_tallies_of_tasks_merge_as_one_run():
    """What pool and Dask workers send back (a tally per task) merges into the counts of the run."""
    import warnings

    from sanity_checks import methods, tally

    parts = []
    for images, states in (([0, 1], 3), ([2], 3)):
        with tally.collecting() as counted:
            for k in range(states):
                tally.state(f"top-down/reinit/{k}")
                if k:
                    tally.masks("GradCAM", np.zeros((len(images), 4, 4, 1)), images)
            tally.state(None)
            tally.masks("Gradient", np.ones((1, 4, 4, 1)), [70])   # a check's own copy ids: not named
            warnings.warn("something odd at 0.5", RuntimeWarning)
            warnings.warn("mask of image(s) [0] is all zero", methods.DegenerateMaskWarning)   # counted above
        parts.append(counted.to_array())
    merged = tally.merged(parts + [None])
    assert merged.lines() == ["GradCAM: all-zero maps at 2 of 3 model states, images 0-2",
                              "Gradient: constant maps 2 times", "RuntimeWarning: something odd at # (2 times)"]


def test_a_method_the_model_cannot_run_is_skipped_in_one_line_and_the_others_go_on(random_mlp):
    from sanity_checks.methods import MethodError
    from sanity_checks.methods.registry import runnable_methods

    said = []
    kept = runnable_methods(random_mlp, ["gradient", "gradcam", "guided_gradcam", "edge"], log=said.append)
    assert kept == ["gradient", "edge"]
    assert said == ["note: GradCAM skipped: GradCAM needs a convolutional layer, and mlp has none (no gradcam_layer)",
                    "note: Guided GradCAM skipped: GradCAM needs a convolutional layer, and mlp has none "
                    "(no gradcam_layer)"]
    with pytest.raises(MethodError, match="unknown layer 'conv9'"):   # a layer the user named stays an error
        runnable_methods(random_mlp, ["gradient", "gradcam"], {"gradcam": {"layer": "conv9"}}, log=said.append)
    with pytest.raises(MethodError, match="no method left"):
        runnable_methods(random_mlp, ["gradcam"], log=said.append)


def test_blocks_layers_is_a_grouping_and_our_models_keep_their_declared_blocks(model_folder, data_root, tmp_path):
    out = tmp_path / "out"
    model_randomization_main(["--model", str(model_folder), "--methods", "gradient", "--metrics", "spearman_abs",
                              "--blocks", "layers", "--images", "1", "--eval-images", "0", "--data-root",
                              str(data_root), "--out", str(out), "--quiet"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["blocks"] == ["softmax_linear", "fc1", "hidden2", "hidden1"]
    assert json.loads((out / "run.json").read_text())["settings"]["loading"]["grouping"] == "layers"
