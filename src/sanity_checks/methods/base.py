"""What every explanation method shares: its errors, the explained class, seeding, chunking, and
the final check of a batch of masks.

Shapes: ``images`` are (N, H, W, C) float32 (a single (H, W, C) image gets a batch axis of 1);
``classes`` are (N,) int32; masks are (N, H, W, C) float32.
"""
import warnings

import numpy as np

from ..errors import SanityCheckError

#: At most this many numbers in one chunk of model inputs we build in memory (about 64 MB in
#: float64). The model itself still runs them in batches of ``architecture.batch_size``.
MAX_CHUNK_ELEMENTS = 2 ** 23


class MethodError(SanityCheckError):
    """An unknown method, a bad setting, or a method the model cannot support."""


class DegenerateMaskWarning(UserWarning):
    """A mask came out all zero (e.g. GradCAM of a randomized layer) or not finite."""


def resolve_classes(model, images, classes=None, batch_size=None):
    """The class explained for each image: (N,) int32.

    ``None`` means the model's current top class, recomputed from the weights the session holds
    now (the original re-picks the randomized model's own argmax). Else one int for every image,
    or one int per image.
    """
    images = model.check_images(images)
    if classes is None:
        return model.predict(images, batch_size).astype(np.int32)
    return model.check_classes(classes, len(images))


def image_chunks(n, elements_per_image, max_elements=None):
    """Slices cutting ``n`` images into chunks of at most ``max_elements`` numbers (>= 1 image).

    ``max_elements`` defaults to :data:`MAX_CHUNK_ELEMENTS`, read at call time.
    """
    max_elements = max_elements or MAX_CHUNK_ELEMENTS
    step = max(1, int(max_elements // max(1, elements_per_image)))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def sequential_sum(values, axis):
    """Sum along ``axis`` one slice at a time in float32, the order PAIR accumulates its masks."""
    values = np.moveaxis(values, axis, 0)
    total = np.zeros(values.shape[1:], dtype=np.float32)
    for value in values:
        total += value
    return total


def tile_channels(maps, channels):
    """(N, H, W) -> (N, H, W, channels): the map copied into every channel (PAIR's three_dims)."""
    return np.repeat(maps[..., None], channels, axis=-1)


def finish(masks, method):
    """Return ``masks`` as float32; a non-finite image becomes zeros, and all-zero images warn."""
    masks = np.asarray(masks, dtype=np.float32)
    flat = masks.reshape(len(masks), -1)
    bad = ~np.isfinite(flat).all(axis=1)
    if bad.any():
        masks = masks.copy()
        masks[bad] = 0.0
        warnings.warn(f"{method}: mask of image(s) {np.flatnonzero(bad).tolist()} not finite; "
                      f"set to zeros", DegenerateMaskWarning, stacklevel=3)
    zero = ~bad & ~flat.any(axis=1)
    if zero.any():
        warnings.warn(f"{method}: mask of image(s) {np.flatnonzero(zero).tolist()} is all zero",
                      DegenerateMaskWarning, stacklevel=3)
    return masks
