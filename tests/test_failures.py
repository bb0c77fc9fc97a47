"""Clean failures: a bad input or an unwritable output ends in one line naming the file or value, exit
status 2, and nothing written. The runners are called in-process through ``cli.run`` (the same code
path as the scripts, minus a TensorFlow start-up each)."""
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import cli, files, runs
from sanity_checks.errors import ModelError, OutputError, SanityCheckError
from sanity_checks.cli.randomization import data_randomization_main, model_randomization_main
from sanity_checks.cli.parameter_saliency import DEFAULT_FIGURE_FOLDER, input_saliency_main, pruning_main
from sanity_checks.loading import load_model
from sanity_checks.model import CHECKPOINT_NAME, METADATA_NAME, GraphModel
from sanity_checks.cli.report import main as report_main

REPO = Path(__file__).resolve().parents[1]


def fails_in_one_line(main, argv, capsys, *expected):
    """Run ``main`` as the scripts do; assert exit status 2 and one stderr line holding ``expected``."""
    with pytest.raises(SystemExit) as exit_info:
        cli.run(main, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]  # (after any progress bars)
    assert line.startswith("error: ") and err.count("error: ") == 1, err
    for text in expected:
        assert str(text) in line, line
    return line


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good") / "cnn_mnist"
    with GraphModel("cnn", seed=4) as model:
        model.save(folder, {"data": "mnist", "labels": "true", "command": "src/train_cnn_models.py --data mnist"})
    return folder


@pytest.fixture(scope="module")
def truncated_model(good_model, tmp_path_factory):
    """A copy of ``good_model`` whose model.ckpt.data-* file is cut to its first 1,000 bytes."""
    folder = tmp_path_factory.mktemp("damaged") / "cnn_mnist"
    shutil.copytree(good_model, folder)
    (data_file,) = folder.glob(CHECKPOINT_NAME + ".data-*")
    with open(data_file, "r+b") as f:
        f.truncate(1000)
    return folder, data_file


def test_truncated_checkpoint_is_one_line_for_every_runner(truncated_model, good_model, data_root, tmp_path, capsys):
    folder, data_file = truncated_model
    out = tmp_path / "out"
    common = ["--data-root", str(data_root)]
    runs = [(model_randomization_main, ["--model", str(folder), "--out", str(out), "--images", "2"] + common),
            (data_randomization_main, ["--model", str(good_model), "--random-model", str(folder), "--out", str(out)]
             + common),
            (input_saliency_main, ["--model", str(folder), "--reference_id", "0", "--figure_folder", str(out)] + common),
            (pruning_main, ["--model", str(folder), "--out", str(out)] + common),
            (report_main, ["--model", str(folder), "--out", str(out), "--quick"] + common)]
    for main, argv in runs:
        line = fails_in_one_line(main, argv, capsys, "is damaged", data_file, "1,000 bytes",
                                 "retrain it: python src/train_cnn_models.py --data mnist")
        assert "Traceback" not in line and "RestoreV2" not in line
    assert not out.exists()  # nothing written


def test_other_architecture_and_damaged_metadata(good_model, tmp_path):
    wrong = tmp_path / "says_mlp"
    shutil.copytree(good_model, wrong)
    meta = json.loads((wrong / METADATA_NAME).read_text())
    (wrong / METADATA_NAME).write_text(json.dumps({**meta, "architecture": "mlp"}))
    with pytest.raises(ModelError, match=r"does not fit mlp \(10 classes\): 8 of 8 variables do not match.*"
                                         r"the checkpoint holds 8 variables: fc1/biases"):
        load_model(str(wrong))
    (wrong / METADATA_NAME).write_text('{"architecture": "cnn", ')  # cut short
    with pytest.raises(ModelError, match=f"cannot read {wrong / METADATA_NAME}: .*damaged"):
        load_model(str(wrong))


def test_train_refuses_a_file_as_savemodelpath_before_training(tmp_path, data_root, capsys):
    from sanity_checks import train

    target = tmp_path / "not_a_folder"
    target.write_text("keep me")
    fails_in_one_line(lambda argv: train.main("cnn", argv),
                      ["--data", "mnist", "--data-root", str(data_root), "--savemodelpath", str(target)], capsys,
                      f"--savemodelpath {target} is a file, not a folder")
    # a file where the model folder would go is refused too, never replaced by the model
    fails_in_one_line(lambda argv: train.main("cnn", argv),
                      ["--data", "mnist", "--data-root", str(data_root), "--savemodelpath", str(tmp_path),
                       "--name", target.name], capsys, f"{target} is a file, not a model folder")
    assert target.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    with pytest.raises(OutputError, match="a file of that name is in the way"):
        with files.atomic_folder(target):
            pass
    assert target.read_text() == "keep me"


def test_input_saliency_labels(good_model, data_root, tmp_path, capsys):
    argv = ["--model", str(good_model), "--data-root", str(data_root), "--figure_folder", str(tmp_path / "f")]
    # a label given where it is not used: argparse's usage line, then one error line; exit 2
    with pytest.raises(SystemExit) as exit_info:
        input_saliency_main(argv + ["--reference_id", "0", "--image_target_label", "10"])
    assert exit_info.value.code == 2
    assert "--image_target_label goes with --image_path only" in capsys.readouterr().err
    image = tmp_path / "x.npy"
    np.save(image, np.zeros((28, 28, 1), np.float32))
    fails_in_one_line(input_saliency_main, argv + ["--image_path", str(image), "--image_target_label", "10"], capsys,
                      "--image_target_label must be in 0..9, got 10")
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("array, message", [
    (np.full((28, 28, 1), np.nan, np.float32), "784 NaN or infinite values"),
    (np.zeros((32, 32, 1), np.float32), "shape (32, 32, 1), cnn needs (28, 28, 1)"),
    (np.full((28, 28, 1), 255, np.float32), "values in [255, 255], cnn takes [0, 1]")])
def test_bad_image_arrays_are_refused(good_model, data_root, tmp_path, capsys, array, message):
    image = tmp_path / "x.npy"
    np.save(image, array)
    fails_in_one_line(input_saliency_main, ["--model", str(good_model), "--data-root", str(data_root),
                                            "--image_path", str(image), "--image_target_label", "1",
                                            "--figure_folder", str(tmp_path / "f")], capsys, image, message)
    assert not (tmp_path / "f").exists()


def test_empty_image_folders_are_refused(good_model, data_root, tmp_path, capsys):
    from sanity_checks.imagenet import load_image_dir

    empty = tmp_path / "empty"
    (empty / "class0").mkdir(parents=True)
    fails_in_one_line(input_saliency_main, ["--model", str(good_model), "--imagenet_val_path", str(empty),
                                            "--reference_id", "0", "--figure_folder", str(tmp_path / "f")],
                      capsys, f"{empty} holds no images")
    with pytest.raises(SanityCheckError, match=f"no images .* in {empty / 'class0'}"):
        load_image_dir(str(empty / "class0"))


def test_results_get_the_umask_mode(tmp_path):
    previous = os.umask(0o027)
    try:
        files.save_json({"a": 1}, tmp_path / "r.json")
        with files.all_or_nothing(tmp_path / "run"):
            files.save_json({"b": 2}, tmp_path / "run" / "s.json")
        with files.atomic_folder(tmp_path / "model") as tmp:
            Path(tmp, "w").write_text("x")
    finally:
        os.umask(previous)
    mode = {p: (tmp_path / p).stat().st_mode & 0o777 for p in ("r.json", "run", "run/s.json", "model", "model/w")}
    assert mode == {"r.json": 0o640, "run": 0o750, "run/s.json": 0o640, "model": 0o750, "model/w": 0o640}


def test_a_failed_run_writes_nothing(tmp_path):
    out = tmp_path / "new" / "out"
    with pytest.raises(OutputError, match=f"cannot write {out / 'c.png'}: No space left on device"):
        with files.all_or_nothing(out):
            files.save_json({"a": 1}, out / "a.json")
            files.save_json({"b": 1}, out / "b.json")
            with files.atomic_path(out / "c.png"):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []  # no file, no temporary, and the folders it created are gone
    # an existing folder keeps its other files and gets none of the run's
    out.mkdir(parents=True)
    (out / "mine.txt").write_text("x")
    with pytest.raises(RuntimeError):
        with files.all_or_nothing(out):
            files.save_json({"a": 1}, out / "a.json")
            raise RuntimeError("interrupted")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


@pytest.fixture
def small_mount(tmp_path):
    """``mount(options)``: a tiny tmpfs at a fresh folder (root only; the test is skipped elsewhere)."""
    mounted = []

    def mount(options):
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], capture_output=True)


def test_read_only_and_full_output_folders(good_model, data_root, small_mount, capsys):
    read_only = small_mount("ro,size=64k")
    out = read_only / "out"
    argv = ["--model", str(good_model), "--images", "2", "--methods", "gradient", "--metrics", "spearman_abs",
            "--data-root", str(data_root), "--eval-images", "0"]
    fails_in_one_line(model_randomization_main, argv + ["--out", str(out)], capsys,
                      f"--out {out}: cannot write in {read_only} (read-only file system)")
    full = small_mount("size=48k")  # room for results.csv and summary.json, not for the figures
    out = full / "out"
    line = fails_in_one_line(model_randomization_main, argv + ["--out", str(out)], capsys, "cannot write", out,
                             "No space left on device")
    assert line.endswith(".png: No space left on device")
    # No result file was written; only the run's resumable state (manifest and finished parts) may
    # stay, so that the same command continues once there is room (issue 14).
    left = {p.name for p in out.iterdir()} if out.exists() else set()
    assert left <= {runs.MANIFEST, runs.PARTS}


def test_a_model_on_a_read_only_file_system_still_runs(good_model, data_root, small_mount, tmp_path, capsys):
    """Parameter saliency caches its statistics beside the model; on a read-only share it goes on without."""
    share = small_mount("size=16m")
    shutil.copytree(good_model, share / "cnn_mnist")
    done = subprocess.run(["mount", "-o", "remount,ro", str(share)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only: {done.stderr.decode().strip()}")
    figures = tmp_path / "figures"
    input_saliency_main(["--model", str(share / "cnn_mnist"), "--reference_id", "0", "--data-root", str(data_root),
                         "--figure_folder", str(figures), "--quiet"])
    out = capsys.readouterr().out
    assert "note: statistics not cached (cannot write" in out and "Read-only file system" in out
    assert sorted(p.name for p in figures.iterdir()) == ["filter_saliency_0_cnn.png", "input_saliency_heatmap_0_cnn.png"]


def test_default_outputs_are_ignored_by_git(tmp_path):
    """The README's commands leave a checkout clean: what they write by default is in .gitignore."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = [os.path.join(DEFAULT_FIGURE_FOLDER, "input_saliency_heatmap_12_cnn.png"), "figures/x.png",
             "results/demo/summary.json", "models/cnn_mnist/model.ckpt.index"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO, capture_output=True, text=True)
    assert done.stdout.split() == paths
