"""Image files as model inputs: one file, or an ImageFolder-like tree (``<root>/<class>/<image>``).

Numpy and Pillow only (no TensorFlow). Every reader returns float32 (H, W, C) in the model's input
range: an architecture's ``extra["input_range"]`` (Inception v3: (-1, 1)), else (0, 1).

- :func:`input_range` (architecture) -> (low, high)
- :func:`read_image` (path, architecture) -> (H, W, C) float32; ``.npy`` files are taken as they are
- :func:`image_folder` (root) -> ImageFolder (sorted class folders, sorted files, as torchvision)
"""
import os
from dataclasses import dataclass

import numpy as np

from .errors import SanityCheckError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".npy")


class ImageError(SanityCheckError):
    """An image file that is missing, unreadable or of the wrong shape."""


def input_range(architecture):
    low, high = architecture.extra.get("input_range", (0.0, 1.0))
    return float(low), float(high)


def read_image(path, architecture):
    """One image file as a model input (H, W, C) float32 in the architecture's input range.

    Grayscale models get the luminance, colour models RGB, resized whole to the input size with
    Lanczos (for Inception v3 this is the original's ``LoadImage``, as ``imagenet.load_image``). A
    ``.npy`` file must already hold (H, W, C) in range.
    """
    if not os.path.isfile(path):
        raise ImageError(f"image {path} does not exist")
    shape = tuple(architecture.input_shape)
    if path.lower().endswith(".npy"):
        try:
            x = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as err:
            raise ImageError(f"cannot read {path} as a numpy array: {err}") from None
        if x.shape != shape:
            raise ImageError(f"{path} holds an array of shape {x.shape}, {architecture.name} needs {shape}")
        return x
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im = im.convert("L" if shape[-1] == 1 else "RGB").resize((shape[1], shape[0]), Image.LANCZOS)
            x = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"cannot read {path} as an image: {err}") from None
    low, high = input_range(architecture)
    return (low + (high - low) * x.reshape(shape)).astype(np.float32)


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
