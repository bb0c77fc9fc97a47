"""Training: a short run writes a model folder that reloads to identical logits; scripts' CLI."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import train
from sanity_checks.loading import load_model
from sanity_checks.model import GraphModel

REPO = Path(__file__).resolve().parents[1]


def run_script(script, *args, cwd=REPO):
    return subprocess.run([sys.executable, str(REPO / "src" / script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_batches_cover_every_index_once_and_are_seeded():
    a = train.batches(103, 10, np.random.default_rng(1))
    assert len(a) == 10 and sorted(np.concatenate(a).tolist()) == list(range(103))
    b = train.batches(103, 10, np.random.default_rng(1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_training_lowers_the_loss_and_is_reproducible(rng):
    x = rng.random((200, 28, 28, 1), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int64)  # learnable
    weights = []
    for _ in range(2):
        model = GraphModel("mlp", seed=4)
        history = train.train(model, x, y, lr=1e-3, batch_size=20, n_epochs=3, seed=4, progress=False)
        weights.append(model.get_weights())
        model.close()
    assert history[-1]["loss"] < 0.69
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_one_epoch_script_run_writes_a_model_that_reloads_to_identical_logits(data_root, tmp_path):
    done = run_script("train_cnn_models.py", "--data", "mnist", "--data-root", str(data_root), "--nepochs", "1",
                      "--savemodelpath", str(tmp_path / "models"), "--seed", "7", "--reg")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "models" / "cnn_mnist"
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["architecture"] == "cnn" and meta["data"] == "mnist" and meta["labels"] == "true"
    assert meta["seed"] == 7 and meta["epochs"] == 1 and meta["reg"] is True
    assert set(meta["accuracy"]) == {"train", "validation", "test"}
    assert {"tensorflow", "numpy"} <= set(meta["versions"])
    assert "accuracy: train" in done.stdout

    from sanity_checks.data import load_dataset
    x = load_dataset("mnist", root=str(data_root), verbose=False).x_test[:8]
    first, second = load_model(folder), load_model(folder)
    np.testing.assert_array_equal(first.predict_logits(x), second.predict_logits(x))


def test_random_labels_keep_class_counts_and_are_reported(data_root, tmp_path):
    done = run_script("train_mlp_models.py", "--data", "mnist", "--data-root", str(data_root), "--nepochs", "1",
                      "--savemodelpath", str(tmp_path), "--randlabels")
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "mlp_mnist_randlabels" / "metadata.json").read_text())
    assert meta["labels"] == "permuted" and meta["epochs"] == 1  # an explicit --nepochs is honoured
    assert "train_true_labels" in meta["accuracy"]
    assert "below the 95%" in done.stdout


def test_a_snapshot_is_the_model_a_shorter_run_gives(data_root, tmp_path):
    """--save-at: the snapshot after epoch 1 of a 2-epoch run equals a 1-epoch run, weights and metadata."""
    common = ("--data", "mnist", "--data-root", str(data_root), "--max-train", "300", "--seed", "3",
              "--savemodelpath", str(tmp_path))
    long = run_script("train_mlp_models.py", *common, "--nepochs", "2", "--save-at", "1", "--name", "long")
    short = run_script("train_mlp_models.py", *common, "--nepochs", "1", "--name", "short")
    assert long.returncode == 0 and short.returncode == 0, long.stderr + short.stderr
    assert "saved " + str(tmp_path / "long_e1") + " (epoch 1)" in long.stdout
    snapshot, one_epoch, two_epochs = (load_model(tmp_path / name) for name in ("long_e1", "short", "long"))
    for name, weights in one_epoch.get_weights().items():
        np.testing.assert_array_equal(snapshot.get_weights()[name], weights)
    assert any(not np.array_equal(two_epochs.get_weights()[k], w) for k, w in one_epoch.get_weights().items())
    meta = {name: json.loads((tmp_path / name / "metadata.json").read_text()) for name in ("long_e1", "short", "long")}
    assert meta["long_e1"]["epochs"] == 1 and meta["long"]["epochs"] == 2
    assert meta["long_e1"]["accuracy"] == meta["short"]["accuracy"]
    assert meta["long_e1"]["history"] == meta["short"]["history"] == meta["long"]["history"][:1]


@pytest.mark.parametrize("script", ["train_cnn_models.py", "train_mlp_models.py"])
def test_help_and_bad_arguments(script):
    # the three processes run at once: each spends most of its time starting Python and TensorFlow
    running = [subprocess.Popen([sys.executable, str(REPO / "src" / script), *args], cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for args in (["--help"], ["--data", "cifar"], ["--data", "mnist", "--nepochs", "0"],
                            ["--data", "mnist", "--nepochs", "3", "--save-at", "1", "3"])]
    outputs = []
    for process in running:
        stdout, stderr = process.communicate(timeout=300)
        outputs.append((process.returncode, stdout, stderr))
    (help_code, help_out, _), (cifar_code, _, cifar_err), (zero_code, _, zero_err), (save_code, _, save_err) = outputs
    assert help_code == 0 and "--randlabels" in help_out and "--seed" in help_out
    assert cifar_code == 2
    assert cifar_err.strip().splitlines()[-1].startswith("error: ") and "mnist" in cifar_err
    assert "Traceback" not in cifar_err
    assert zero_code == 2 and "must be positive" in zero_err
    assert save_code == 2 and "--save-at 3: snapshot epochs must lie between 1 and 2" in save_err
