"""The IDX file format and a data set folder on disk: the four IDX files (plain or gzipped) and SOURCE.txt.

Everything is numpy; this module does not import TensorFlow.
"""
import gzip
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

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


def read_idx_folder(folder, keys=None):
    """Read and check the four IDX files of a folder (or only those of ``keys``, e.g. the test split).

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
        if keys is not None and key not in keys:
            continue
        is_images = key.startswith("x")
        arrays[key] = read_idx(path, IMAGES_MAGIC if is_images else LABELS_MAGIC)
        if is_images and arrays[key].shape[1:] != (28, 28):
            h, w = arrays[key].shape[1:]
            raise DataError(f"{path}: images are {h}x{w} pixels, expected 28x28")
        if not is_images and arrays[key].size and arrays[key].max() > 9:
            raise DataError(f"{path}: label {arrays[key].max()} is not a class id 0..9")
    for split in ("train", "test"):
        if f"x_{split}" not in arrays or f"y_{split}" not in arrays:
            continue
        n_x, n_y = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if n_x != n_y:
            raise DataError(f"{found[f'x_{split}']} holds {n_x} images but "
                            f"{found[f'y_{split}']} holds {n_y} labels")
    return arrays
