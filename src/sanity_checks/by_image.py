"""How images are grouped into model calls when results must not depend on the split of the work.

TensorFlow's kernels round differently for other batch shapes (~1e-7), so an image's logits and masks
would depend on which images share its call, its task (``runs``), its worker or its shard. Every
runner and check therefore explains through these functions, which give each image (with its
``rows_per_image`` rows, e.g. noisy copies) model calls of its own: the one place that decides it.
"""
import numpy as np

from .methods import compute_masks


def logits(model, images, rows_per_image=1):
    """(N, classes) logits, each image's ``rows_per_image`` rows in a call of their own."""
    step = int(rows_per_image)
    return np.concatenate([model.predict_logits(images[i:i + step]) for i in range(0, len(images), step)])


def predicted_classes(model, images):
    """(N,) int64 top classes, each image in a call of its own."""
    return logits(model, images).argmax(axis=1).astype(np.int64)


def masks(model, images, image_ids, methods, classes, seed, method_settings, rows_per_image=1):
    """{method: (N, H, W, C) float32}: :func:`~sanity_checks.methods.compute_masks` of each image's
    ``rows_per_image`` rows in calls of their own (noise keyed by ``seed`` and the image ids)."""
    out = {}
    step = int(rows_per_image)
    for i in range(0, len(images) if methods else 0, step):
        part = compute_masks(model, images[i:i + step], methods, classes=np.asarray(classes)[i:i + step], seed=seed,
                             settings=method_settings, image_ids=np.asarray(image_ids)[i:i + step])
        for name, value in part.items():
            out.setdefault(name, []).append(value)
    return {name: np.concatenate(values) for name, values in out.items()}
