"""Images for a model that has no data set of its own (a user's Keras model), from the runners' options.

- ``--image-dir DIR``: the image files of a folder in name order, resized to the model's input and
  scaled by ``--preprocess``;
- ``--npy FILE``: an array (N, H, W, C) already in the model's input scaling (taken as it is);
- ``--data mnist|fashion``: one of our data sets, when the model's input is 28x28x1;
- ``--preprocess``: the model's expected scaling of [0, 255] pixels: ``0-1`` (default), ``-1-1``,
  the Keras applications modes ``tf`` (= -1-1), ``torch`` (ImageNet mean/std) and ``caffe`` (BGR,
  ImageNet means subtracted), or ``none`` (0-255);
- ``--labels FILE``: the true labels, one integer per line (or an ``.npy``), in image order; the
  checks that need them (parameter saliency, pruning) refuse to run without.

Size and channel mismatches are one-line errors (:class:`~sanity_checks.errors.DataError`).
"""
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from .errors import DataError

PREPROCESS_MODES = ("0-1", "-1-1", "tf", "torch", "caffe", "none")
_IMAGENET_MEAN_RGB = np.array([0.485, 0.456, 0.406], np.float32)
_IMAGENET_STD_RGB = np.array([0.229, 0.224, 0.225], np.float32)
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def preprocess(pixels, mode="0-1"):
    """Pixels in [0, 255] (…, H, W, C) -> the model's input scaling ``mode`` (float32)."""
    x = np.asarray(pixels, np.float32)
    if mode == "0-1":
        return x / np.float32(255.0)
    if mode in ("-1-1", "tf"):
        return x / np.float32(127.5) - np.float32(1.0)
    if mode == "none":
        return x
    if x.shape[-1] != 3:
        raise DataError(f"--preprocess {mode} is for RGB images; the model takes {x.shape[-1]} channel(s)")
    if mode == "torch":
        return (x / np.float32(255.0) - _IMAGENET_MEAN_RGB) / _IMAGENET_STD_RGB
    if mode == "caffe":
        return x[..., ::-1] - _CAFFE_MEAN_BGR
    raise DataError(f"unknown --preprocess {mode!r}; valid: {', '.join(PREPROCESS_MODES)}")


def to_display(x, mode="0-1"):
    """Model inputs scaled by ``mode`` back to [0, 1] RGB/gray for figures."""
    x = np.asarray(x, np.float32)
    if mode == "0-1":
        pixels = x * 255.0
    elif mode in ("-1-1", "tf"):
        pixels = (x + 1.0) * 127.5
    elif mode == "torch":
        pixels = (x * _IMAGENET_STD_RGB + _IMAGENET_MEAN_RGB) * 255.0
    elif mode == "caffe":
        pixels = (x + _CAFFE_MEAN_BGR)[..., ::-1]
    else:
        pixels = x
    return np.clip(pixels / 255.0, 0.0, 1.0)


def display_range(mode):
    """The (low, high) input values shown as black and white in figures (approximate for torch/caffe)."""
    return {"0-1": (0.0, 1.0), "-1-1": (-1.0, 1.0), "tf": (-1.0, 1.0), "none": (0.0, 255.0),
            "torch": (-2.1, 2.6), "caffe": (-124.0, 152.0)}[mode]


def add_arguments(parser, image_dir=True):
    """The image options; ``image_dir=False`` when the parser already has ``--image-dir``."""
    group = parser.add_argument_group("images for models without a data set of their own (Keras models)")
    if image_dir:
        group.add_argument("--image-dir", default=None, help="a folder of image files, used in name order")
    group.add_argument("--npy", default=None, metavar="FILE",
                       help="an .npy array (N, H, W, C) already scaled as the model expects")
    group.add_argument("--data", default=None, choices=("mnist", "fashion"),
                       help="one of our data sets (test split), when the model takes 28x28x1 images")
    group.add_argument("--preprocess", default="0-1", choices=PREPROCESS_MODES,
                       help="how the model expects [0, 255] pixels scaled (default 0-1; tf = -1-1, torch and "
                            "caffe as keras.applications)")
    group.add_argument("--labels", default=None, metavar="FILE",
                       help="true labels in image order: one integer per line, or an .npy")


def options(args):
    """The image options of parsed ``args`` (missing ones are None)."""
    return {key: getattr(args, key, None) for key in ("image_dir", "npy", "data", "preprocess", "labels")}


def requested(opts):
    return bool(opts and any(opts.get(k) for k in ("image_dir", "npy", "data")))


@dataclass
class UserImages:
    """Images (and labels, if known) shaped like a data set: ``x_test``/``y_test``; for reference
    statistics ``x_val``/``y_val`` (a named data set's validation split, else the same images).

    A named data set's validation split is read from its training files only when first asked for
    (``load_validation``): most runs explain test images only, and converting the 60,000 training
    images took 3 s of a short run.
    """
    name: str
    x_test: np.ndarray
    y_test: Optional[np.ndarray]
    _x_val: Optional[np.ndarray]
    _y_val: Optional[np.ndarray]
    files: Optional[list] = None
    class_names: tuple = ()
    preprocess: str = "0-1"
    load_validation: Optional[Callable] = field(default=None, repr=False, compare=False)

    def _validation(self):
        if self._x_val is None and self.load_validation is not None:
            self._x_val, self._y_val = self.load_validation()
        return self._x_val, self._y_val

    @property
    def x_val(self):
        return self._validation()[0]

    @property
    def y_val(self):
        return self._validation()[1]


def skip(images, first):
    """``images`` without its first ``first`` test images (``--first-image``)."""
    import dataclasses
    return dataclasses.replace(images, x_test=images.x_test[first:],
                               y_test=None if images.y_test is None else images.y_test[first:],
                               files=None if images.files is None else images.files[first:])


def read_labels(path, n):
    """``n`` integer labels from a text file (one per line) or an .npy."""
    if not os.path.isfile(path):
        raise DataError(f"labels file {path} does not exist")
    try:
        labels = (np.load(path, allow_pickle=False) if path.endswith(".npy")
                  else np.loadtxt(path, dtype=np.int64, ndmin=1))
    except ValueError as err:
        raise DataError(f"cannot read labels from {path}: {err}") from None
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if len(labels) < n:
        raise DataError(f"{path} holds {len(labels)} labels for {n} images")
    return labels[:n]


def _check_shape(x, shape, source):
    if x.shape[1:] != tuple(shape):
        what = "channels" if x.shape[1:3] == tuple(shape[:2]) else "size"
        raise DataError(f"{source} holds images of shape {x.shape[1:]}, the model takes {tuple(shape)} "
                        f"(wrong {what})")


def load(model, n=None, opts=None, data_root="data"):
    """The first ``n`` images (default all) the options name, as the model's inputs."""
    from .images import read_pixels

    opts = opts or {}
    shape = tuple(model.architecture.input_shape)
    mode = opts.get("preprocess") or "0-1"
    given = [k for k in ("image_dir", "npy", "data") if opts.get(k)]
    if len(given) != 1:
        raise DataError("name the images for this model with one of --image-dir, --npy or --data"
                        + (f" (got {', '.join('--' + k.replace('_', '-') for k in given)})" if given else ""))
    if n is not None and n < 1:
        raise DataError(f"--images must be at least 1, got {n}")
    files, class_names = None, ()
    if opts.get("data"):
        from .data import load_dataset
        if shape != (28, 28, 1):
            raise DataError(f"--data {opts['data']} has 28x28x1 images, the model takes {shape}")
        data = load_dataset(opts["data"], root=data_root, test_only=True)
        scale = (lambda a: preprocess(np.asarray(a, np.float32) * 255.0, mode))
        x_test, y_test = scale(data.x_test[:n]), np.asarray(data.y_test[:n])
        if opts.get("labels"):
            y_test = read_labels(opts["labels"], len(x_test))

        def validation(name=opts["data"]):
            full = load_dataset(name, root=data_root, verbose=False)
            return scale(full.x_val), np.asarray(full.y_val)

        return UserImages(data.name, x_test, y_test, None, None, load_validation=validation,
                          class_names=tuple(getattr(data, "class_names", ()) or ()), preprocess=mode)
    if opts.get("npy"):
        path = opts["npy"]
        if not os.path.isfile(path):
            raise DataError(f"image array {path} does not exist")
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read {path} as a numpy array: {err}") from None
        if x.ndim == len(shape):
            x = x[None]
        x = np.asarray(x[:n], np.float32)
        _check_shape(x, shape, path)
        name = os.path.basename(path)
    else:
        from .imagenet import image_files
        files = image_files(opts["image_dir"])[:n]
        x = np.stack([preprocess(read_pixels(f, shape, (0.0, 255.0)), mode) for f in files])
        name = f"images of {opts['image_dir']}"
    y = read_labels(opts["labels"], len(x)) if opts.get("labels") else None
    return UserImages(name, x, y, x, y, files, preprocess=mode)


def read_file(path, model, mode="0-1"):
    """One image file (or .npy, taken as it is) as the model's input, scaled by ``mode``."""
    from .images import read_pixels

    shape = tuple(model.architecture.input_shape)
    if path.lower().endswith(".npy"):
        x = np.asarray(np.load(path, allow_pickle=False), np.float32)
        _check_shape(x[None], shape, path)
        return x
    return preprocess(read_pixels(path, shape, (0.0, 255.0)), mode)
