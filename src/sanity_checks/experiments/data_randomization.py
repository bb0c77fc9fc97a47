"""The data randomization test: the same images explained by a model trained on the true labels
and by a model of the same architecture trained on permuted labels. A method whose masks stay the
same does not depend on the relation between images and labels the model learned."""
import numpy as np

from .. import metrics as metrics_module
from ..errors import SanityCheckError
from ..methods import available_methods, compute_masks
from .model_randomization import RandomizationResult, check_image_ids, default_metrics, state_seed

TRUE_LABELS, RANDOM_LABELS = "true labels", "random labels"


class _Step:
    def __init__(self, label):
        self.label, self.blocks = label, ()


def _layout(model):
    """What two models of one architecture share: input shape, classes, trainable variable shapes in order."""
    return (tuple(model.architecture.input_shape), model.architecture.num_classes,
            [tuple(v.shape.as_list()) for v in model.variables if v.trainable])


def check_pair(model, random_model):
    """Both models must have the same architecture (and, if known, the same data set). Two Keras models
    may carry different names: they are one architecture when their inputs, classes and weights agree."""
    a, b = model.architecture.name, random_model.architecture.name
    if a != b and _layout(model) != _layout(random_model):
        raise SanityCheckError(f"the two models have different architectures: {a} and {b}")
    da, db = (getattr(m, "metadata", {}).get("data") for m in (model, random_model))
    if da and db and da != db:
        raise SanityCheckError(f"the two models were trained on different data sets: {da} and {db}")


def run(model, random_model, images, *, methods=None, metrics=None, seed=0, method_settings=None, keep_masks=1,
        noise="per-state", image_ids=None):
    """Masks of both models for ``images`` (each model explains its own top class), compared.

    ``noise`` and ``image_ids`` as in :func:`model_randomization.run` (the random-label model is
    state 1: with 'per-state' its noisy methods draw fresh noise, as the original's did).

    Returns a :class:`RandomizationResult` with two states, 'true labels' (the reference) and
    'random labels'.
    """
    check_pair(model, random_model)
    images = model.check_images(images)
    state_seed(seed, 0, noise)  # validates ``noise``
    ids = check_image_ids(image_ids, len(images))
    methods = list(methods or available_methods(model))
    metrics = list(metrics or default_metrics(images.shape[1:3]))
    metrics_module.check_names(metrics)
    steps = [_Step(TRUE_LABELS), _Step(RANDOM_LABELS)]
    result = RandomizationResult([], steps, methods, metrics, images[:keep_masks], {}, {}, settings={
        "mode": "data randomization", "methods": methods, "metrics": metrics, "seed": seed,
        "noise": noise, "n_images": int(len(images)), "image_ids": ids, "class_explained": "each model's own top class",
        "method_settings": method_settings or {}})
    masks = {}
    for index, (step, m) in enumerate(zip(steps, (model, random_model))):
        classes = m.predict(images)
        masks[step.label] = compute_masks(m, images, methods, classes=classes, seed=state_seed(seed, index, noise),
                                          settings=method_settings)
        result.masks[step.label] = {name: masks[step.label][name][:keep_masks] for name in methods}
        result.classes[step.label] = classes
    for index, step in enumerate(steps):
        for method in methods:
            for n in range(len(images)):
                for metric in metrics:
                    value = metrics_module.similarity(metric, masks[TRUE_LABELS][method][n], masks[step.label][method][n])
                    result.rows.append({"image": ids[n], "method": method, "step_index": index, "step": step.label,
                                        "metric": metric, "value": float(value),
                                        "class_explained": int(result.classes[step.label][n]), "level": None})
    return result
