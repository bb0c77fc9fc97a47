"""The data randomization test: the same images explained by a model trained on the true labels
and by a model of the same architecture trained on permuted labels. A method whose masks stay the
same does not depend on the relation between images and labels the model learned."""
import numpy as np

from .. import by_image, metrics as metrics_module
from ..errors import SanityCheckError
from ..methods import available_methods
from ..random_streams import state_seed
from .model_randomization import assemble, check_image_ids, default_metrics

TRUE_LABELS, RANDOM_LABELS = "true labels", "random labels"


class _Step:
    def __init__(self, label):
        self.label, self.blocks = label, ()


def _layout(model):
    """What two models of one architecture share: input shape, classes, trainable variable shapes in order."""
    return (tuple(model.architecture.input_shape), model.architecture.num_classes,
            [tuple(p.shape) for p in model.parameters() if p.trainable])


def check_pair(model, random_model):
    """Both models must have the same architecture (and, if known, the same data set). Two Keras models
    may carry different names: they are one architecture when their inputs, classes and weights agree."""
    a, b = model.architecture.name, random_model.architecture.name
    if a != b and _layout(model) != _layout(random_model):
        raise SanityCheckError(f"the two models have different architectures: {a} and {b}")
    da, db = (getattr(m, "metadata", {}).get("data") for m in (model, random_model))
    if da and db and da != db:
        raise SanityCheckError(f"the two models were trained on different data sets: {da} and {db}")


def explain_both(model, random_model, images, image_ids, methods, metrics, *, seed=0, method_settings=None,
                 keep_masks=0, noise="per-state"):
    """Each image (in blocks keyed by image id, as :func:`~.model_randomization.explain_through_states`) explained
    by both models, each for its own top class, compared with the true-label model's masks.

    Returns ``values`` (2, methods, images, metrics), ``classes`` (2, images), ``masks``
    (2, methods, keep_masks, H, W, C) of the first ``keep_masks`` images. The random-label model is
    state 1 for the noise (:func:`~.model_randomization.state_seed`).
    """
    n = len(images)
    values = np.zeros((2, len(methods), n, len(metrics)), np.float64)
    classes = np.zeros((2, n), np.int64)
    kept = np.zeros((2, len(methods), min(keep_masks, n)) + images.shape[1:], np.float32)
    masks = []
    for index, m in enumerate((model, random_model)):
        classes[index] = by_image.predicted_classes(m, images, image_ids)
        masks.append(by_image.masks(m, images, image_ids, methods, classes[index], state_seed(seed, index, noise),
                                    method_settings))
    for index in range(2):
        for j, method in enumerate(methods):
            for i in range(n):
                for k, metric in enumerate(metrics):
                    values[index, j, i, k] = metrics_module.similarity(metric, masks[0][method][i],
                                                                       masks[index][method][i])
            kept[index, j] = masks[index][method][:len(kept[index, j])]
    return values, classes, kept


STEPS = (_Step(TRUE_LABELS), _Step(RANDOM_LABELS))


def run_settings(methods, metrics, seed, n_images, method_settings, noise="per-state", image_ids=None):
    return {"mode": "data randomization", "methods": methods, "metrics": metrics, "seed": seed, "noise": noise,
            "n_images": int(n_images), "image_ids": check_image_ids(image_ids, n_images),
            "class_explained": "each model's own top class", "method_settings": method_settings or {}}


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
    values, classes, masks = explain_both(model, random_model, images, ids, methods, metrics, seed=seed,
                                          method_settings=method_settings, keep_masks=keep_masks, noise=noise)
    settings = run_settings(methods, metrics, seed, len(images), method_settings, noise, ids)
    return assemble(list(STEPS), methods, metrics, settings, values, classes, masks, images[:keep_masks], image_ids=ids)
