"""Image files as model inputs: one file, or an ImageFolder-like tree (``<root>/<class>/<image>``).

Numpy and Pillow only (no TensorFlow). Every reader returns float32 (H, W, C) in the model's input
range: an architecture's ``input_range`` (Inception v3: (-1, 1)), else (0, 1).

- :func:`input_range` (architecture) -> (low, high)
- :func:`read_image` (path, architecture) -> (H, W, C) float32; ``.npy`` files are taken as they are
- :func:`read_pixels` (path, shape, input_range) -> the same for an explicit shape and range (the one
  place that decodes, resizes and scales an image file; ``imagenet.load_image`` is it at 299x299x3)
- :func:`image_folder` (root) -> ImageFolder (sorted class folders, sorted files, as torchvision)
"""
import os
from dataclasses import dataclass

import numpy as np

from .errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".npy")


class ImageError(DataError):
    """An image file that is missing, unreadable or of the wrong shape."""


def input_range(architecture):
    low, high = architecture.input_range or (0.0, 1.0)
    return float(low), float(high)


def read_image(path, architecture):
    """One image file as a model input (H, W, C) float32 in the architecture's input range.

    Grayscale models get the luminance, colour models RGB, resized whole to the input size with
    Lanczos (for Inception v3 this is the original's ``LoadImage``). A ``.npy`` file must already
    hold (H, W, C) in range.
    """
    shape = tuple(architecture.input_shape)
    if not path.lower().endswith(".npy"):
        return read_pixels(path, shape, input_range(architecture))
    if not os.path.isfile(path):
        raise ImageError(f"image {path} does not exist")
    try:
        x = np.load(path, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as err:
        raise ImageError(f"cannot read {path} as a numpy array: {err}") from None
    if x.shape != shape:
        raise ImageError(f"{path} holds an array of shape {x.shape}, {architecture.name} needs {shape}")
    if not np.all(np.isfinite(x)):
        raise ImageError(f"{path} holds {int(np.size(x) - np.isfinite(x).sum())} NaN or infinite values")
    low, high = input_range(architecture)
    slack = 1e-3 * (high - low)
    if x.min() < low - slack or x.max() > high + slack:
        raise ImageError(f"{path} holds values in [{x.min():g}, {x.max():g}], {architecture.name} takes "
                         f"[{low:g}, {high:g}]")
    return x


def read_pixels(path, shape, input_range=(0.0, 1.0)):
    """An image file as float32 ``shape`` = (H, W, 1 or 3), scaled from [0, 255] to ``input_range``.

    PIL luminance or RGB, resized whole with Lanczos, then ``x / (255 / (high - low)) + low``: for
    (-1, 1) that is the original's ``x / 127.5 - 1`` to the bit.
    """
    from PIL import Image, UnidentifiedImageError
    if not os.path.isfile(path):
        raise ImageError(f"image {path} does not exist")
    height, width, channels = shape
    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB").resize((width, height), Image.LANCZOS)
            x = np.asarray(im, dtype=np.float32)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"cannot read image {path}: {err}") from None
    low, high = (float(v) for v in input_range)
    return (x / np.float32(255.0 / (high - low)) + np.float32(low)).reshape(shape)


@dataclass
class ImageFolder:
    """Files of ``<root>/<class folder>/<image>``: ``paths[i]`` has class index ``targets[i]``."""
    root: str
    classes: list   # class folder names, sorted
    paths: list     # sorted by class folder, then file name
    targets: np.ndarray

    def __len__(self):
        return len(self.paths)


def image_folder(root):
    if not os.path.isdir(root):
        raise ImageError(f"image folder {root} does not exist")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    paths, targets = [], []
    for index, name in enumerate(classes):
        folder = os.path.join(root, name)
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
        paths += [os.path.join(folder, f) for f in files]
        targets += [index] * len(files)
    if not paths:
        raise ImageError(f"{root} holds no images in class folders (<root>/<class>/<image>)")
    return ImageFolder(root, classes, paths, np.asarray(targets, dtype=np.int64))
