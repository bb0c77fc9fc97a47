"""Every runner end to end on saved Keras files (quick settings), and the image options."""
import hashlib
import json
import os

import numpy as np
import pytest

from sanity_checks.errors import DataError, SanityCheckError
from sanity_checks.keras.eager import eager_mode

import keras_zoo as zoo


@pytest.fixture(scope="module")
def keras_cnns(tmp_path_factory):
    """{(flavour, format): path} of a 28x28x1, 10-class CNN in every format: the same layers by Keras 3
    (seed 3: .keras, .h5) and by tf-keras (seed 4: .keras, .h5, SavedModel)."""
    folder = str(tmp_path_factory.mktemp("keras_cnns"))
    paths = {}
    with eager_mode():
        for flavour, seed in (("keras", 3), ("tf_keras", 4)):
            saved = zoo.save(zoo.build("sequential", flavour, seed=seed), flavour, folder, "cnn")
            paths.update({(flavour, fmt): path for fmt, path in saved.items()})
    return paths


def digest(path):
    """sha256 of a file, or of every file (name and bytes) under a SavedModel folder."""
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(root, name) for root, _, names in os.walk(path) for name in names)
    h = hashlib.sha256()
    for name in files:
        h.update(os.path.relpath(name, path).encode())
        h.update(open(name, "rb").read())
    return h.hexdigest()


def read_summary(folder):
    with open(os.path.join(folder, "summary.json")) as f:
        return json.load(f)


QUICK = ["--images", "2", "--quick", "--methods", "gradient", "guided_backprop", "gradcam", "--metrics", "spearman_abs"]


#: Each mode on a different format, so that every format runs through a runner (data randomization
#: takes the tf-keras .keras and the Keras 3 .h5 file).
MODES = [("cascading", "keras", "keras"), ("independent", "tf_keras", "savedmodel"), ("noise", "tf_keras", "h5")]


@pytest.mark.parametrize("mode,flavour,fmt", MODES, ids=[f"{m}-{f}-{x}" for m, f, x in MODES])
def test_model_randomization_runner_on_a_keras_file(keras_cnns, data_root, tmp_path, mode, flavour, fmt):
    from sanity_checks.cli.randomization import model_randomization_main

    path = keras_cnns[flavour, fmt]
    before = digest(path)
    out = tmp_path / mode
    options = ["--mode", mode, "--data", "mnist", "--data-root", str(data_root)] + QUICK
    if mode == "noise":
        options += ["--noise-levels", "0.1"]
    outcomes = model_randomization_main(["--model", path, "--out", str(out)] + options)
    assert [s.label for s in outcomes[0].steps] == ["original", "probs", "fc1", "conv2", "conv1"]
    summary = read_summary(out)
    assert summary["model_metadata"]["architecture"] == "seq_cnn"
    assert (out / "results.csv").is_file() and any(p.suffix == ".png" for p in out.iterdir())
    assert digest(path) == before
    if mode == "cascading":   # the trained model's masks compare perfectly with themselves
        rows = outcomes[0].rows
        assert all(r["value"] == pytest.approx(1.0) for r in rows if r["step"] == "original")
        # the files and summary entries of our own model's run (tests/test_experiments.py), for the one metric
        assert sorted(p.name for p in out.iterdir()) == [
            "curves_spearman_abs.png", "mask_grid_abs.png", "mask_grid_signed.png", "parts", "results.csv", "run.json",
            "summary.json"]
        assert {"settings", "summary", "test_accuracy", "test_accuracy_images", "versions"} <= set(summary)
        assert set(summary["test_accuracy"]) == {"original", "probs", "fc1", "conv2", "conv1"}


def test_data_randomization_runner_on_two_keras_files(keras_cnns, data_root, tmp_path):
    from sanity_checks.cli.randomization import data_randomization_main

    result = data_randomization_main(["--model", keras_cnns["tf_keras", "keras"], "--random-model",
                                      keras_cnns["keras", "h5"], "--out",
                                      str(tmp_path), "--data", "mnist", "--data-root", str(data_root)] + QUICK)
    assert [s.label for s in result.steps] == ["true labels", "random labels"]
    assert read_summary(tmp_path)["models_metadata"]["random"]["architecture"] == "seq_cnn"
    assert {"bars_spearman_abs.png", "masks.png", "results.csv", "summary.json"} <= {p.name for p in tmp_path.iterdir()}


def test_parameter_saliency_and_pruning_runners_on_a_keras_file(keras_cnns, data_root, tmp_path):
    from sanity_checks.cli.parameter_saliency import input_saliency_main, pruning_main

    path = keras_cnns["keras", "keras"]
    before = digest(path)
    common = ["--model", path, "--data", "mnist", "--data-root", str(data_root), "--max_reference_images", "12",
              "--quiet"]
    result = input_saliency_main(common + ["--reference_id", "3", "--figure_folder", str(tmp_path / "figures")])
    assert len(result.z) == 16   # the filters of both Conv2D layers
    assert sorted(os.listdir(tmp_path / "figures")) == ["filter_saliency_3_seq_cnn.png",
                                                        "input_saliency_heatmap_3_seq_cnn.png"]
    assert os.path.isdir(path + ".sanity_checks")   # the statistics cache sits beside the file, not in it
    pruning_main(common + ["--out", str(tmp_path / "pruning"), "--max-images", "2", "--k-max", "2",
                           "--random-draws", "1"])
    summary = read_summary(tmp_path / "pruning")
    assert summary["settings"]["n_filters"] == 16 and set(summary["summary"]) == {"salient", "random", "least"}
    assert digest(path) == before


def test_sanity_report_on_a_keras_file(keras_cnns, data_root, tmp_path):
    """The report's checks take a user's Keras file like the runners do, and leave the file as it was."""
    import csv

    from sanity_checks.cli.report import main as report_main

    path = keras_cnns["keras", "h5"]
    before = digest(path)
    report_main(["--model", path, "--data", "mnist", "--data-root", str(data_root), "--images", "2", "--quick",
                 "--methods", "gradient", "guided_backprop", "--checks", "mprt", "random_logit",
                 "--out", str(tmp_path)])
    text = (tmp_path / "report.md").read_text()
    assert "| Guided BackProp |" in text
    header = text.split("\n")[2]   # readable values only: no "data None, labels None", no "Keras 3 3.x"
    assert "None" not in header and "Keras 3 3" not in header and " model 'seq_cnn'" in header, header
    with open(tmp_path / "random_logit.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} >= {"gradient", "guided_backprop"} and {r["image"] for r in rows} == {"0", "1"}
    assert digest(path) == before


def test_image_options_npy_image_dir_labels_and_mismatches(keras_cnns, tmp_path):
    from PIL import Image

    from sanity_checks import user_images
    from sanity_checks.loading import load_model

    model = load_model(keras_cnns["keras", "keras"], log=lambda *a: None)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    folder = tmp_path / "images"
    folder.mkdir()
    for i, p in enumerate(pixels):
        Image.fromarray(p).save(folder / f"img{i}.png")
    (tmp_path / "labels.txt").write_text("4\n1\n7\n")
    images = user_images.load(model, 2, {"image_dir": str(folder), "labels": str(tmp_path / "labels.txt")})
    np.testing.assert_allclose(images.x_test[..., 0], pixels[:2] / 255.0, atol=1e-6)
    assert images.y_test.tolist() == [4, 1]
    scaled = user_images.load(model, None, {"image_dir": str(folder), "preprocess": "-1-1"})
    np.testing.assert_allclose(scaled.x_test[..., 0], pixels / 127.5 - 1, atol=1e-6)
    np.save(tmp_path / "x.npy", images.x_test)
    np.testing.assert_array_equal(user_images.load(model, None, {"npy": str(tmp_path / "x.npy")}).x_test,
                                  images.x_test)
    np.save(tmp_path / "rgb.npy", np.zeros((2, 28, 28, 3), np.float32))
    with pytest.raises(DataError, match=r"shape \(28, 28, 3\), the model takes \(28, 28, 1\) \(wrong channels\)"):
        user_images.load(model, None, {"npy": str(tmp_path / "rgb.npy")})
    np.save(tmp_path / "big.npy", np.zeros((2, 32, 32, 1), np.float32))
    with pytest.raises(DataError, match="wrong size"):
        user_images.load(model, None, {"npy": str(tmp_path / "big.npy")})
    with pytest.raises(DataError, match="one of --image-dir, --npy or --data"):
        user_images.load(model, None, {})
    with pytest.raises(SanityCheckError, match="2 labels for 3 images"):
        (tmp_path / "short.txt").write_text("1\n2\n")
        user_images.load(model, None, {"image_dir": str(folder), "labels": str(tmp_path / "short.txt")})
    model.close()


def test_readme_your_own_model_commands_work_in_a_fresh_folder(tmp_path, monkeypatch):
    """The README's 'Your own model' commands, pasted into a clone: they make their own Keras files;
    then its Python lines on the file they made."""
    import re
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(repo, "README.md")) as f:
        section = f.read().split("## Your own model", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert len(commands) == 4
    os.symlink(os.path.join(repo, "src"), tmp_path / "src")
    env = dict(os.environ, PYTHONPATH=os.path.join(repo, "src"))
    for command in commands:
        argv = command.split(" ", 1)
        assert argv[0] == ".venv/bin/python"
        done = subprocess.run(f"{sys.executable} {argv[1]}", shell=True, cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    assert (tmp_path / "results" / "my_model_cascading" / "mask_grid_abs.png").is_file()
    assert (tmp_path / "results" / "my_model_data" / "summary.json").is_file()
    assert len(os.listdir(tmp_path / "results" / "my_model_figures")) == 2
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(python, "README.md (Your own model)", "exec"), namespace)
    model = namespace["model"]
    assert model.metadata["explained"].startswith("pre-softmax") and model.architecture.num_classes == 10
    model.close()
