"""bench/seed_spread.py: collecting the last column of each run and the spread against the original."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed_spread():
    spec = importlib.util.spec_from_file_location("seed_spread", REPO / "bench" / "seed_spread.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(folder, values, method_settings=None):
    """A run folder whose summary.json holds ``values[method] = (abs, signed)`` at its last step (and the run's
    ``method_settings``, if given)."""
    folder.mkdir()
    summary = {m: {"softmax_linear": {k: {"mean": 0.95, "std": 0.0, "n": 10} for k in ("spearman_abs", "spearman_signed")},
                   "fc1": {k: {"mean": 0.9, "std": 0.0, "n": 10} for k in ("spearman_abs", "spearman_signed")},
                   "original": {k: {"mean": 1.0, "std": 0.0, "n": 10} for k in ("spearman_abs", "spearman_signed")},
                   "hidden1": {"spearman_abs": {"mean": a, "std": 0.1, "n": 10},
                               "spearman_signed": {"mean": s, "std": 0.2, "n": 10}}}
               for m, (a, s) in values.items()}
    settings = {"blocks": ["softmax_linear", "fc1", "hidden2", "hidden1"]}
    if method_settings is not None:
        settings["method_settings"] = method_settings
    (folder / "summary.json").write_text(json.dumps({"summary": summary, "settings": settings}, sort_keys=True))
    return folder


def test_last_column_and_spread_say_whether_the_original_is_inside(seed_spread, tmp_path):
    rows = []
    for seed, gbp in enumerate([0.40, 0.45, 0.50]):   # the original CNN Guided BackProp, 0.444, is inside
        for first, ig_sg in ((0, 0.47 + seed / 100), (10, 0.52)):  # IG-SmoothGrad 0.361 is below all seeds
            out = fake_run(tmp_path / f"s{seed}_{first}", {"guided_backprop": (gbp, 0.5), "ig_smoothgrad": (ig_sg, 0.05),
                                                           "vargrad": (0.4, 0.4)})
            rows += seed_spread.last_column(str(out), "cascading", "mnist", "cnn", seed, first, 10, "per-state")
    gbp = [r for r in rows if r["method"] == "guided_backprop" and r["metric"] == "spearman_abs"]
    last = seed_spread.last_state(gbp)
    assert [r["mean"] for r in last] == [0.40, 0.40, 0.45, 0.45, 0.50, 0.50]
    assert {r["images"] for r in last} == {"0-9", "10-19"} and {r["step"] for r in last} == {"hidden1"}
    assert all(r["original"] == 0.444 and r["original_other_run"] == 0.451 for r in last)
    # every state of the run, one row each, with the original's column beside it (both of its stored runs)
    one_run = [(r["state"], r["states"], r["step"], r["mean"], r["original"], r["original_other_run"])
               for r in gbp if r["seed"] == 0 and r["first_image"] == 0]
    assert one_run == [(1, 4, "softmax_linear", 0.95, 0.888, 0.902), (2, 4, "fc1", 0.9, 0.773, 0.770),
                       (4, 4, "hidden1", 0.40, 0.444, 0.451)]   # the fake run has no hidden2
    assert all(r["original"] == "" for r in rows if r["metric"] == "spearman_signed" or r["method"] == "vargrad")
    assert {r["gradcam_resize"] for r in rows} == {""}   # no GradCAM-type method here
    table = seed_spread.spread_tables(rows, "per-state")
    lines = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| ")}
    assert "0.450 [0.400, 0.500]" in lines["| Guided BackProp"] and "| yes |" in lines["| Guided BackProp"]
    assert "| no (-0.109) |" in lines["| IG-SmoothGrad"]   # 0.361 - min(0.47, 0.48, 0.49, 0.52)
    assert "| – |" in lines["| VarGrad"]                  # no original number
    csv_path = seed_spread.write_csv(rows, str(tmp_path / "spread.csv"))
    assert Path(csv_path).read_text().splitlines()[0].startswith("test,data,architecture,seed,images")


def test_data_randomization_reads_the_random_label_state(seed_spread, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    cell = lambda v: {"spearman_abs": {"mean": v, "std": 0.0, "n": 10}, "spearman_signed": {"mean": v, "std": 0.0, "n": 10}}
    (folder / "summary.json").write_text(json.dumps(
        {"summary": {"gradient": {"true labels": cell(1.0), "random labels": cell(0.2)}}, "settings": {}}, sort_keys=True))
    rows = seed_spread.last_column(str(folder), "data", "mnist", "mlp", 0, 10, 10, "per-state")
    assert [(r["state"], r["states"], r["step"], r["mean"], r["original"]) for r in rows] == [
        (1, 1, "random labels", 0.2, 0.60), (1, 1, "random labels", 0.2, "")]


def test_gradcam_rows_carry_the_runs_upsampling(seed_spread, tmp_path):
    """The GradCAM upsampling is a column: the default (the original's tf1_bilinear) unless the run set
    gradcam.resize; the evaluation's rows are the default ones plus the other methods'."""
    rows = []
    for name, method_settings in (("default", {}), ("skimage", {"gradcam": {"resize": "skimage"}})):
        folder = tmp_path / name
        fake_run(folder, {"gradcam": (0.3 if name == "default" else 0.35, 0.3), "gradient": (0.1, 0.0)},
                 method_settings)
        rows += seed_spread.last_column(str(folder), "cascading", "mnist", "cnn", 0, 0, 10, "per-state")
    assert {(r["method"], r["gradcam_resize"]) for r in rows} == {("gradcam", "tf1_bilinear"), ("gradcam", "skimage"),
                                                                 ("gradient", "")}
    tf1 = seed_spread.last_state(seed_spread.evaluation(rows))
    assert sorted((r["method"], r["mean"]) for r in tf1 if r["metric"] == "spearman_abs") == [
        ("gradcam", 0.3), ("gradient", 0.1), ("gradient", 0.1)]
    assert "| GradCAM | 0.299 | 0.350 [0.350, 0.350] |" in seed_spread.spread_tables(rows, "per-state", resize="skimage")


def test_training_table_by_data_set_images_and_length(seed_spread, tmp_path):
    """--epochs: rows carry each model's training length, training images, Adam steps and test
    accuracy (from its metadata.json); the table averages over seeds per training condition."""
    rows = []
    for data, n_train, epochs, gbp, accuracy in (("mnist", 7000, 10, (0.30, 0.40), 0.95),
                                                 ("mnist", 7000, 50, (0.20, 0.22), 0.96),
                                                 ("fashion", 55000, 50, (0.05,), 0.90)):
        for seed, value in enumerate(gbp):
            model = tmp_path / f"mlp_{data}_e{epochs}_seed{seed}"
            model.mkdir()
            (model / "metadata.json").write_text(json.dumps(
                {"epochs": epochs, "n_train": n_train, "batch_size": 50, "accuracy": {"test": accuracy}}))
            out = fake_run(tmp_path / f"run_{data}_e{epochs}_s{seed}", {"guided_backprop": (value, 0.1)})
            summary = json.loads((out / "summary.json").read_text())
            (out / "summary.json").write_text(json.dumps({**summary, "model": str(model)}))
            rows += seed_spread.last_column(str(out), "cascading", data, "mlp", seed, 0, 10, "per-state")
    assert {(r["epochs"], r["train_images"], r["steps"], r["test_accuracy"]) for r in rows} == {
        (10, 7000, 1400, 0.95), (50, 7000, 7000, 0.96), (50, 55000, 55000, 0.90)}
    assert {r["original"] for r in rows if r["data"] == "fashion"} == {""}   # the original has no Fashion numbers
    lines = {line.split(" | ")[0]: line for line in seed_spread.training_table(rows).splitlines()
             if line.startswith("| ")}
    assert lines["| method"] == ("| method | original (MNIST) | MNIST 7,000 images, 10 epochs | "
                                 "MNIST 7,000 images, 50 epochs | Fashion-MNIST 55,000 images, 50 epochs |")
    assert lines["| Adam steps"] == "| Adam steps | 55,000 | 1,400 | 7,000 | 55,000 |"
    assert lines["| seeds"] == "| seeds | 1 | 2 | 2 | 1 |"
    assert lines["| test accuracy"] == "| test accuracy | 0.987 | 0.950 | 0.960 | 0.900 |"
    assert lines["| Guided BackProp"] == "| Guided BackProp | 0.044 | 0.350 | 0.210 | 0.050 |"
    # the first column (only the top block random) beside it, from the same runs
    assert {r["mean"] for r in seed_spread.first_state(rows)} == {0.95}
    assert lines["| Guided BackProp, first column"] == "| Guided BackProp, first column | 0.903 | 0.950 | 0.950 | 0.950 |"
    assert seed_spread.model_name("mlp", "mnist", False, 3, 100) == "mlp_mnist_e100_seed3"
    assert seed_spread.model_name("cnn", "mnist", True, 0) == "cnn_mnist_randlabels_seed0"
    # the seed tables take Fashion-MNIST too, with no original to compare
    table = seed_spread.spread_tables(rows, "per-state")
    assert "MLP Fashion-MNIST, cascading randomization" in table
    assert "| Guided BackProp | – | 0.050 [0.050, 0.050] | – |" in table


def test_image_sample_table(seed_spread, tmp_path):
    """Three disjoint image samples of one model: the spread of their means, original inside or not."""
    rows = []
    for first, (gbp, ig_sg) in zip((0, 10, 20), ((0.20, 0.40), (0.22, 0.45), (0.18, 0.50))):
        out = fake_run(tmp_path / f"s{first}", {"guided_backprop": (gbp, 0.3), "ig_smoothgrad": (ig_sg, 0.0)})
        rows += seed_spread.last_column(str(out), "cascading", "mnist", "mlp", 0, first, 10, "per-state")
    lines = {line.split(" | ")[0]: line for line in seed_spread.sample_tables(rows, "per-state").splitlines()
             if line.startswith("| ")}
    assert lines["| Guided BackProp"] == "| Guided BackProp | 0.044 | 0.200 | 0.020 | [0.180, 0.220] | no (-0.136) |"
    assert lines["| IG-SmoothGrad"] == "| IG-SmoothGrad | 0.345 | 0.450 | 0.050 | [0.400, 0.500] | no (-0.055) |"
    assert seed_spread.sample_tables(rows[:4], "per-state") == ""   # one sample: no table
    # the original has three decimals: 0.3449 rounds to it, and counts as inside
    out = fake_run(tmp_path / "s30", {"guided_backprop": (0.2, 0.3), "ig_smoothgrad": (0.3449, 0.0)})
    rows += seed_spread.last_column(str(out), "cascading", "mnist", "mlp", 0, 30, 10, "per-state")
    assert "| [0.345, 0.500] | yes |" in seed_spread.sample_tables(rows, "per-state")


def test_first_layer_drift_is_one_at_initialization_and_sees_grown_rows(tmp_path):
    """bench/first_layer_drift.py: an MLP at its initial draw has ratio ~1; doubling the rows of the
    inked pixels doubles it."""
    import numpy as np

    from sanity_checks.model import GraphModel

    spec = importlib.util.spec_from_file_location("first_layer_drift", REPO / "bench" / "first_layer_drift.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x_train = np.zeros((50, 28, 28, 1), np.float32)
    x_train[:, 10:18, 10:18] = 1.0                      # 64 pixels inked in every image, the rest blank
    with GraphModel("mlp", seed=0) as model:
        model.save(str(tmp_path / "init"))
        weights = model.get_weights()
        inked = x_train[0].reshape(-1) > 0
        weights["mlp/hidden1/weights"][inked] *= 2.0
        model.set_weights(weights)
        model.save(str(tmp_path / "grown"))
    on, off, ratio = module.drift(str(tmp_path / "init"), x_train)
    assert abs(ratio - 1.0) < 0.05 and on > 0
    _, _, grown = module.drift(str(tmp_path / "grown"), x_train)
    assert abs(grown / ratio - 2.0) < 1e-4


def test_training_figure_from_the_csvs_counts_each_run_once(seed_spread, tmp_path):
    """--training-from: rows read back from the CSVs (numbers as numbers), a run present in two CSVs
    (the 50-epoch seed-0 model of both the seed study and a sweep) counted once, and the figure written."""
    def row(data, n_train, epochs, seed, value, method="guided_backprop", test="cascading"):
        return {"test": test, "data": data, "architecture": "mlp", "seed": seed, "images": "0-9", "first_image": 0,
                "noise": "per-state", "gradcam_resize": "", "variant": "default", "epochs": epochs,
                "train_images": n_train, "steps": epochs * n_train // 50, "test_accuracy": 0.9, "method": method,
                "metric": "spearman_abs", "state": 4, "states": 4, "step": "hidden1", "mean": value, "std": 0.1,
                "n": 10, "original": "", "original_other_run": ""}
    study = [row("mnist", 7000, 50, 0, 0.2), row("mnist", 7000, 50, 1, 0.3), row("mnist", 7000, 50, 0, 0.9, test="data")]
    sweep = [row("mnist", 7000, 50, 0, 0.2), row("mnist", 7000, 400, 0, 0.13), row("fashion", 55000, 50, 0, 0.05)]
    paths = [seed_spread.write_csv(study, str(tmp_path / "a.csv")), seed_spread.write_csv(sweep, str(tmp_path / "b.csv"))]
    rows = seed_spread.training_rows(paths)
    assert sorted((r["data"], r["steps"], r["seed"], r["mean"]) for r in rows) == [
        ("fashion", 55000, 0, 0.05), ("mnist", 7000, 0, 0.2), ("mnist", 7000, 1, 0.3), ("mnist", 56000, 0, 0.13)]
    lines = {line.split(" | ")[0]: line for line in seed_spread.training_table(rows).splitlines() if line.startswith("| ")}
    assert lines["| Guided BackProp"] == "| Guided BackProp | 0.044 | 0.250 | 0.130 | 0.050 |"
    path = seed_spread.training_figure(rows, str(tmp_path / "training.png"))
    assert Path(path).stat().st_size > 10_000


def test_cnn_first_column_redraws_differ_in_one_thing_each():
    """bench/cnn_first_column.py: each variant of the top layer changes only what it names."""
    import numpy as np

    spec = importlib.util.spec_from_file_location("cnn_first_column", REPO / "bench" / "cnn_first_column.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trained_w, trained_b = np.arange(20, dtype=np.float32).reshape(10, 2), np.array([3.0, 4.0], np.float32)
    draw = {v: module.top_layer(v, trained_w, trained_b, module.rng_for(0, v, 0)) for v in module.VARIANTS}
    w, b = draw["original"]
    assert w.shape == (10, 2) and np.all(np.abs(w) <= 0.2) and np.all(b == 0.1)   # truncated at 2 std
    assert np.all(np.abs(draw["std_0.01"][0]) <= 0.02) and np.all(draw["bias_0"][1] == 0)
    assert sorted(draw["shuffled"][0].ravel()) == sorted(trained_w.ravel())
    assert np.all(draw["shared"][0] == 1)
    again = module.top_layer("original", trained_w, trained_b, module.rng_for(0, "original", 0))
    np.testing.assert_array_equal(again[0], w)                                    # seeded by what it is for
    assert not np.array_equal(module.top_layer("original", trained_w, trained_b, module.rng_for(0, "original", 1))[0], w)


def test_add_states_keeps_the_csv_and_adds_the_middle_columns_of_a_rerun(seed_spread, tmp_path):
    """A re-run writes every column; --add-states keeps the CSV's rows (first and last columns only, as
    the runs collected before issue 25) and adds the states it lacks, each after its run's others."""
    out = fake_run(tmp_path / "s0", {"gradient": (0.08, 0.02), "smoothgrad": (0.2, 0.04)})
    rerun = seed_spread.last_column(str(out), "cascading", "mnist", "cnn", 0, 0, 10, "per-state")
    kept = [dict(r) for r in rerun if r["state"] in (1, 4)]
    kept[0]["mean"] = round(kept[0]["mean"] + 0.0005, 6)  # the committed row, from the first run
    other = dict(kept[-1], seed=1)                        # another run's row, not in the re-run
    csv_path = seed_spread.write_csv(kept + [other], str(tmp_path / "spread.csv"))
    merged, n_added, largest = seed_spread.add_states(seed_spread.read_csv(csv_path), rerun)
    assert n_added == len(rerun) - len(kept) == 4         # state 2 (fc1) of 2 methods x 2 metrics
    assert largest == pytest.approx(0.0005)
    assert merged[-1]["seed"] == 1                        # the run the re-run lacks is kept, in its place
    gradient = [(r["state"], r["mean"]) for r in merged if r["method"] == "gradient"
                and r["metric"] == "spearman_abs" and r["seed"] == 0]
    assert gradient == [(1, 0.9505), (2, 0.9), (4, 0.08)]  # the kept first column, not the re-run's
    assert seed_spread.add_states(merged, rerun)[1] == 0   # a second merge adds nothing
    elsewhere = [dict(r, noise="shared") for r in rerun]  # a run the CSV does not hold is not added
    assert seed_spread.add_states(merged, elsewhere)[:2] == (merged, 0)


def test_a_variant_of_both_runs_both_options_and_labels_its_rows(seed_spread, tmp_path, monkeypatch):
    """fixed_class_skimage (the fixed-class GradCAM rows made under PAIR 0.2.1's upsampling): its run asks for
    the trained model's class and scikit-image's upsampling, and its rows are fixed-class rows with skimage."""
    import argparse
    commands = []

    def run(command, log_path):
        commands.append(command)
        out = Path(command[command.index("--out") + 1])
        fake_run(out, {"gradcam": (0.1, 0.1), "guided_gradcam": (0.2, 0.2)}, {"gradcam": {"resize": "skimage"}})
        return 1.0

    monkeypatch.setattr(seed_spread, "run_command", run)
    args = argparse.Namespace(results=str(tmp_path), images=10, collect=False, data_root="data", quick=False)
    out = seed_spread.ensure_run(args, "cascading", str(tmp_path / "cnn_mnist_seed0"), None, 0, 0, "per-state", [],
                                 "fixed_class_skimage")
    assert out.endswith("cnn_mnist_seed0_cascading_images0-9_per-state_fixed_class_skimage")
    command = " ".join(commands[0])
    assert "--fixed-class" in command and "--set gradcam.resize=skimage" in command
    assert "--methods gradcam guided_gradcam" in command
    label = seed_spread.VARIANTS["fixed_class_skimage"][2]
    rows = seed_spread.last_column(out, "cascading", "mnist", "cnn", 0, 0, 10, "per-state", label)
    assert {(r["method"], r["variant"], r["gradcam_resize"]) for r in rows} == {
        ("gradcam", "fixed_class", "skimage"), ("guided_gradcam", "fixed_class", "skimage")}


def test_an_epochs_sweep_finds_the_snapshot_a_longer_run_saved(seed_spread, tmp_path):
    """--epochs E: a model missing as <arch>_<data>_e<E>_seed<S> is the snapshot <..._e<N>_seed<S>_e<E> of a
    longer run (train_*_models.py --save-at E); its own folder comes first, and nothing else is taken."""
    import argparse
    args = argparse.Namespace(models=str(tmp_path), no_train=True, collect=False)

    def model(name, epochs):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metadata.json").write_text(json.dumps({"epochs": epochs, "train_seconds": 1.0}))
    model("cnn_mnist_e400_seed1_e100", 100)
    model("cnn_mnist_e400_seed2_e100", 100)      # another seed's
    model("cnn_mnist_randlabels_e400_seed1_e200", 200)     # random labels
    costs = []
    assert seed_spread.ensure_model(args, "cnn", "mnist", False, 1, costs, 100) == str(tmp_path / "cnn_mnist_e400_seed1_e100")
    assert seed_spread.ensure_model(args, "cnn", "mnist", False, 1, costs, 200) is None
    assert seed_spread.ensure_model(args, "cnn", "mnist", False, 1, costs, None) is None
    model("cnn_mnist_e100_seed1", 100)
    assert seed_spread.ensure_model(args, "cnn", "mnist", False, 1, costs, 100) == str(tmp_path / "cnn_mnist_e100_seed1")
