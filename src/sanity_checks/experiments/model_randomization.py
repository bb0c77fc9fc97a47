"""The model parameter randomization test (and, with a noise strategy, the model noise test).

For each model state (the trained model, then blocks randomized cascading or independently), the
masks of every method for the same images are compared with the trained model's masks by every
metric. The model's weights are changed in memory only and restored at the end.

Images are explained in blocks keyed by their ids (:mod:`sanity_checks.by_image`): TensorFlow's
kernels round differently for different batch shapes (~1e-7), so an image's masks, and the bytes of
the results, must not depend on which images share its batch, its task (``runs``) or its worker.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import by_image, metrics as metrics_module
from ..methods import available_methods
from ..errors import SanityCheckError
from ..random_streams import state_seed
from ..randomize import Randomizer, Strategy


def default_metrics(mask_hw):
    """All four metrics where they apply: HOG needs masks of at least 48x48 (3x3 blocks of 16x16 cells)."""
    names = ["spearman_abs", "spearman_signed", "ssim"]
    if min(mask_hw) >= 48:
        names.append("hog")
    return names


def check_image_ids(image_ids, n):
    """``image_ids`` as a list of n ints (default 0..n-1)."""
    if image_ids is None:
        return list(range(n))
    ids = [int(i) for i in image_ids]
    if len(ids) != n:
        raise SanityCheckError(f"{len(ids)} image ids for {n} images")
    return ids


@dataclass
class RandomizationResult:
    rows: list                      # tidy rows (see results.COLUMNS)
    steps: list                     # randomize.Step, in order
    methods: list
    metrics: list
    images: np.ndarray              # the images kept for figures
    masks: dict                     # {step label: {method: masks of the kept images}}
    classes: dict                   # {step label: classes explained, all images}
    accuracy: dict = field(default_factory=dict)  # {step label: accuracy on eval data}
    settings: dict = field(default_factory=dict)


def explain_through_states(model, randomizer, steps, images, image_ids, methods, metrics, *, seed=0,
                           fixed_class=False, method_settings=None, keep_masks=0, progress=None, desc=None,
                           noise="per-state"):
    """Every image through every model state, in blocks keyed by image id (``by_image``), compared with the first state.

    Returns ``values`` (steps, methods, images, metrics) float64, ``classes`` (steps, images)
    int64 (the class explained), ``masks`` (steps, methods, keep_masks, H, W, C) float32 of the
    first ``keep_masks`` images. The noise of image ``image_ids[n]`` at state k is keyed by
    (:func:`state_seed` (seed, k, noise), its id). ``progress``: a bar over the states (default: where
    this process shows progress, :mod:`~sanity_checks.progress`).
    """
    n = len(images)
    values = np.zeros((len(steps), len(methods), n, len(metrics)), np.float64)
    classes = np.zeros((len(steps), n), np.int64)
    kept = np.zeros((len(steps), len(methods), min(keep_masks, n)) + images.shape[1:], np.float32)
    reference = None
    for index, step in randomizer.through(steps, desc or "model states", progress):
        classes[index] = (classes[0] if fixed_class and index > 0
                          else by_image.predicted_classes(model, images, image_ids))
        masks = by_image.masks(model, images, image_ids, methods, classes[index], state_seed(seed, index, noise),
                               method_settings)
        if reference is None:
            reference = masks
        for j, method in enumerate(methods):
            for i in range(n):
                for k, metric in enumerate(metrics):
                    values[index, j, i, k] = metrics_module.similarity(metric, reference[method][i], masks[method][i])
            kept[index, j] = masks[method][:len(kept[index, j])]
    return values, classes, kept


def state_accuracy(model, randomizer, steps, eval_data):
    """(steps,) accuracy of each model state on ``eval_data`` (x, y)."""
    out = np.zeros(len(steps), np.float64)
    for index, step in randomizer.through(steps, "accuracy per state"):
        out[index] = model.accuracy(*eval_data)
    return out


def state_rows(values, classes, steps, methods, metrics, image_ids, level=None):
    """Tidy rows (results.COLUMNS) from :func:`explain_through_states`'s arrays, step by step,
    method by method, image by image, metric by metric."""
    rows = []
    for index, step in enumerate(steps):
        for j, method in enumerate(methods):
            for i, image in enumerate(image_ids):
                for k, metric in enumerate(metrics):
                    rows.append({"image": int(image), "method": method, "step_index": index, "step": step.label,
                                 "metric": metric, "value": float(values[index, j, i, k]),
                                 "class_explained": int(classes[index, i]), "level": level})
    return rows


def run_settings(steps, mode, order, methods, metrics, strategy, seed, n_images, fixed_class, method_settings,
                 accuracy_images=0, noise="per-state", image_ids=None):
    """The ``settings`` a :class:`RandomizationResult` records."""
    return {"mode": mode, "order": order, "blocks": [s.label for s in steps[1:]], "methods": methods,
            "metrics": metrics, "randomization": strategy.describe(), "seed": seed, "noise": noise,
            "n_images": int(n_images), "image_ids": check_image_ids(image_ids, n_images),
            "class_explained": "trained model's class, fixed" if fixed_class else "current model's own top class",
            "method_settings": method_settings or {}, "accuracy_images": int(accuracy_images)}


def assemble(steps, methods, metrics, settings, values, classes, masks, images, accuracy=None, level=None,
             image_ids=None):
    """A :class:`RandomizationResult` from the arrays of all images (``values`` axis 2, ``classes`` axis 1)."""
    image_ids = check_image_ids(image_ids, values.shape[2])
    return RandomizationResult(
        state_rows(values, classes, steps, methods, metrics, image_ids, level), steps, methods, metrics, images,
        {step.label: {m: masks[index, j] for j, m in enumerate(methods)} for index, step in enumerate(steps)},
        {step.label: classes[index] for index, step in enumerate(steps)},
        {} if accuracy is None else {step.label: float(a) for step, a in zip(steps, accuracy)}, settings)


def run(model, images, *, mode="cascading", blocks=None, methods=None, metrics=None, strategy=None, seed=0,
        fixed_class=False, method_settings=None, keep_masks=1, eval_data=None, progress=True, level=None,
        order="top-down", noise="per-state", image_ids=None):
    """Randomize ``model`` step by step and compare masks with the trained model's.

    Args:
        model: a GraphModel holding trained weights (restored on return, also on error).
        images: (N, *input_shape) float32.
        mode: 'cascading' or 'independent'.
        blocks: block names to use (default: all the architecture declares, top first).
        methods / metrics: names (default: every method that applies to the model; every metric that
            applies to the mask size).
        strategy: a randomize.Strategy (default: re-draw from each variable's own initializer).
        seed: seeds the randomization and the methods' noise.
        fixed_class: explain the trained model's class at every step instead of the current model's
            own top class (the original re-chose the class at each step).
        keep_masks: how many images' masks to keep for figures.
        eval_data: optional (x, y) to record the accuracy of each model state (its cost grows with
            len(x): the runner passes the first 1,000 test images by default, ``--eval-images``).
        level: a label (e.g. the noise level) written into each row.
        order: cascade order, 'top-down' (the original) or 'bottom-up' (input block first).
        noise: 'per-state' (fresh noise at every model state, as the original) or 'shared' (the
            same noise realization at every state); see :func:`state_seed`.
        image_ids: what the rows call each image (default 0..N-1; e.g. the test-set indices); they
            also key each image's noise.

    Long runs that resume, or spread over processes and machines: ``jobs.model_randomization_job``.
    """
    images = model.check_images(images)
    state_seed(seed, 0, noise)  # validates ``noise``
    ids = check_image_ids(image_ids, len(images))
    methods = list(methods or available_methods(model))
    metrics = list(metrics or default_metrics(images.shape[1:3]))
    metrics_module.check_names(metrics)
    strategy = strategy or Strategy()
    randomizer = Randomizer(model, strategy, seed=seed, order=order)
    steps = randomizer.steps(mode, blocks)
    with randomizer:
        values, classes, masks = explain_through_states(
            model, randomizer, steps, images, ids, methods, metrics, seed=seed, fixed_class=fixed_class,
            method_settings=method_settings, keep_masks=keep_masks, progress=progress, noise=noise,
            desc=f"{mode} randomization" + (f" ({level})" if level is not None else ""))
        accuracy = None if eval_data is None else state_accuracy(model, randomizer, steps, eval_data)
    settings = run_settings(steps, mode, order, methods, metrics, strategy, seed, len(images), fixed_class,
                            method_settings, 0 if eval_data is None else len(eval_data[1]), noise, ids)
    return assemble(steps, methods, metrics, settings, values, classes, masks, images[:keep_masks], accuracy, level,
                    ids)
