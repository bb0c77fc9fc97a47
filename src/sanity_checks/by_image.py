"""How images are grouped into model calls when results must not depend on the split of the work.

TensorFlow's kernels (and PyTorch's) round differently for other batch shapes (~1e-7): a row's
result depends on the size of its batch and on its position in it, not on what the other rows
hold. So an image's logits and masks would depend on which images share its call, its task
(``runs``), its worker or its shard, unless the batch it is computed in is fixed by the image
alone. Every runner and check therefore explains through these functions, the one place that
decides it:

- **Blocks keyed by image id.** Images are computed in blocks of ``s`` consecutive ids (``s`` a power
  of two dividing :data:`BLOCK`, 16, fixed by the method and the image size, below): image ``i``
  always sits at position ``i % s`` of an ``s``-image call, with its block-mates ``s (i // s) ...``
  where the run has them and copies (computed, then thrown away) where it has not: the last block
  of a run, a run from ``--first-image 18``, a task of a pool worker. The block is keyed by the
  absolute id, not by the position in the run, so a run from ``--first-image 18`` gives image 20
  the bytes of a run from image 0.
- **Blocks of at most 2^18 numbers** (:data:`BLOCK_ELEMENTS`, 1 MB of float32 inputs): images per
  call = :func:`block_size`, the largest power of two up to 16 whose images bring no more model
  inputs than that: their ``rows_per_image`` (e.g. sMPRT's noisy copies) times the method's own
  inputs per image (:func:`method_rows`: SmoothGrad's noise samples, IG's path steps) times their
  pixels. On 28x28 images: 16 for Gradient, Guided BackProp, GradCAM and the logits, 4 for SmoothGrad
  and IG at 50 samples or steps (a fifth to a quarter less CPU than a call per image on our CNN, about
  what a block of 16 saves, while a short last block pads at most 3 copies), 1 for IG-SmoothGrad (1,250 inputs per
  image fill calls alone). Large images (Inception v3's 299x299x3) stay one per call for every
  method: their calls are compute-bound already, and a run of one-image tasks pads nothing.
- **Tasks** (``runs.image_tasks``) never straddle a block: ``--images-per-task`` is a multiple of 16,
  or divides it (a task of fewer than 16 images then computes its block's cheap methods with padding).

Cheap methods (Gradient, Guided BackProp, GradCAM...) thus make one call per 16 images and model
state instead of one per image.
"""
import numpy as np

from .methods import compute_masks, resolve_settings

#: Images per block at most: a call of 16 rows fills TensorFlow's vectorized kernels (it rounds 1,
#: 2-8 and 16+ rows differently) and keeps the padding of a short last block cheap.
BLOCK = 16

#: Model inputs (rows x numbers per row) one block brings at most (module docstring).
BLOCK_ELEMENTS = 2 ** 18

#: Method settings that multiply the model inputs each image brings (noise samples, path steps).
ROW_SETTINGS = ("nsamples", "nruns", "x_steps")


def block_size(rows_per_image=1, row_elements=1):
    """Images per block for images of ``rows_per_image`` model rows of ``row_elements`` numbers each:
    the largest power of two dividing :data:`BLOCK` whose block brings at most :data:`BLOCK_ELEMENTS`
    numbers, at least 1 (28x28 images: 16 for one row, 4 for 50 rows, 1 for 335 rows or more)."""
    size = BLOCK
    while size > 1 and size * int(rows_per_image) * int(row_elements) > BLOCK_ELEMENTS:
        size //= 2
    return size


def method_rows(settings):
    """Model inputs per image of a method with these (resolved) settings: the product of its
    :data:`ROW_SETTINGS` (SmoothGrad 50, IG-SmoothGrad 25 x 50, Gradient 1)."""
    rows = 1
    for key in ROW_SETTINGS:
        rows *= int(settings.get(key, 1))
    return rows


def blocks(keys, size):
    """The calls for images keyed by ``keys`` (one int per image) in blocks of ``size`` keys:
    [(fill, members)], ``fill`` the image index at each of the ``size`` positions (a copy of the
    block's first image where the run has no image of that key), ``members`` [(position, index)] of
    the images computed there. An image's position is ``key % size`` in the block ``key // size``;
    a key met twice goes to another call of the same block."""
    calls, open_calls = [], {}
    for index, key in enumerate(int(k) for k in np.asarray(keys).reshape(-1)):
        block, position = divmod(key, size)
        found = next((c for c in open_calls.get(block, []) if c[0][position] is None), None)
        if found is None:
            found = ([None] * size, [])
            open_calls.setdefault(block, []).append(found)
            calls.append(found)
        found[0][position] = index
        found[1].append((position, index))
    return [([index if index is not None else members[0][1] for index in fill], members) for fill, members in calls]


def _keys(n, image_ids):
    return np.arange(n) if image_ids is None else np.asarray(image_ids, dtype=np.int64).reshape(-1)


def by_block(call, n_images, keys, rows_per_image=1, size=None):
    """{name: (n_images * rows_per_image, ...)}: ``call(rows)`` (``rows``: indices of the rows of one
    block's images, in position order) returns {name: array of len(rows)}; each image's rows are
    taken from the block it was computed in."""
    r = int(rows_per_image)
    size = block_size(r) if size is None else int(size)
    out = {}
    for fill, members in blocks(keys, size):
        rows = (np.asarray(fill, dtype=np.int64)[:, None] * r + np.arange(r)).reshape(-1)
        for name, value in call(rows).items():
            value = np.asarray(value)
            if name not in out:
                out[name] = np.empty((n_images * r,) + value.shape[1:], value.dtype)
            for position, index in members:
                out[name][index * r:(index + 1) * r] = value[position * r:(position + 1) * r]
    return out


def logits(model, images, image_ids=None, rows_per_image=1):
    """(N, classes) logits, computed in blocks keyed by ``image_ids`` (one per image, i.e. per
    ``rows_per_image`` rows; default 0..: the positions, stable only if the images are never split)."""
    r = int(rows_per_image)
    n = len(images) // r
    size = block_size(r, np.prod(images.shape[1:], dtype=np.int64))
    out = by_block(lambda rows: {"logits": model.predict_logits(images[rows])}, n, _keys(n, image_ids)[:n], r, size)
    return out.get("logits", np.zeros((0, model.architecture.num_classes), np.float32))


def predicted_classes(model, images, image_ids=None):
    """(N,) int64 top classes, computed in blocks keyed by ``image_ids`` (see :func:`logits`)."""
    return logits(model, images, image_ids).argmax(axis=1).astype(np.int64)


def masks(model, images, image_ids, methods, classes, seed, method_settings, rows_per_image=1, keys=None):
    """{method: (N, H, W, C) float32}: :func:`~sanity_checks.methods.compute_masks` in blocks keyed by
    image id, of :func:`block_size` (``rows_per_image`` x :func:`method_rows`, pixels) images (module docstring).

    ``image_ids``: one per row, keys each row's noise (with ``seed``); ``keys``: one per image (group
    of ``rows_per_image`` rows), keys its block (default the id of its first row).
    """
    methods = list(dict.fromkeys(methods))
    r = int(rows_per_image)
    n = len(images) // r
    ids = np.asarray(image_ids)
    classes = np.asarray(classes)
    keys = ids[::r][:n] if keys is None else _keys(n, keys)
    resolved = resolve_settings(model, methods, method_settings)
    by_size = {}   # methods computed together (sharing their parts) in blocks of one size
    for name in methods:
        size = block_size(r * method_rows(resolved[name]), np.prod(np.shape(images)[1:], dtype=np.int64))
        by_size.setdefault(size, []).append(name)
    out = {}
    for size, names in by_size.items():
        if not n:
            break

        def call(rows, names=names):
            return compute_masks(model, images[rows], names, classes=classes[rows], seed=seed,
                                 settings=method_settings, image_ids=ids[rows])
        out.update(by_block(call, n, keys, r, size))
    return {name: out[name] for name in methods if name in out}
