"""The model parameter randomization test (and, with a noise strategy, the model noise test).

For each model state (the trained model, then blocks randomized cascading or independently), the
masks of every method for the same images are compared with the trained model's masks by every
metric. The model's weights are changed in memory only and restored at the end.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import metrics as metrics_module
from ..methods import available_methods, compute_masks
from ..randomize import Randomizer, Strategy


def default_metrics(mask_hw):
    """All four metrics where they apply: HOG needs masks of at least 48x48 (3x3 blocks of 16x16 cells)."""
    names = ["spearman_abs", "spearman_signed", "ssim"]
    if min(mask_hw) >= 48:
        names.append("hog")
    return names


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


def run(model, images, *, mode="cascading", blocks=None, methods=None, metrics=None, strategy=None, seed=0,
        fixed_class=False, method_settings=None, keep_masks=1, eval_data=None, progress=True, level=None,
        order="top-down"):
    """Randomize ``model`` step by step and compare masks with the trained model's.

    Args:
        model: a GraphModel holding trained weights (restored on return, also on error).
        images: (N, *input_shape) float32.
        mode: 'cascading' or 'independent'.
        blocks: block names to use (default: all the architecture declares, top first).
        methods / metrics: names (default: every method that applies to the model; every metric that
            applies to the mask size).
        strategy: a randomize.Strategy (default: re-draw from each variable's own initializer).
        seed: seeds the randomization and the methods' noise (the same noise at every step).
        fixed_class: explain the trained model's class at every step instead of the current model's
            own top class (the original re-chose the class at each step).
        keep_masks: how many images' masks to keep for figures.
        eval_data: optional (x, y) to record the accuracy of each model state (its cost grows with
            len(x): the runner passes the first 1,000 test images by default, ``--eval-images``).
        level: a label (e.g. the noise level) written into each row.
        order: cascade order, 'top-down' (the original) or 'bottom-up' (input block first).
    """
    from tqdm.auto import tqdm

    images = model.check_images(images)
    methods = list(methods or available_methods(model))
    metrics = list(metrics or default_metrics(images.shape[1:3]))
    metrics_module.check_names(metrics)
    strategy = strategy or Strategy()
    randomizer = Randomizer(model, strategy, seed=seed, order=order)
    steps = randomizer.steps(mode, blocks)
    trained_classes = model.predict(images)
    result = RandomizationResult([], steps, methods, metrics, images[:keep_masks], {}, {}, settings={
        "mode": mode, "order": order, "blocks": [s.label for s in steps[1:]], "methods": methods, "metrics": metrics,
        "randomization": strategy.describe(), "seed": seed, "n_images": int(len(images)),
        "class_explained": "trained model's class, fixed" if fixed_class else "current model's own top class",
        "method_settings": method_settings or {},
        "accuracy_images": 0 if eval_data is None else int(len(eval_data[1]))})
    reference = None
    with randomizer:
        bar = tqdm(steps, desc=f"{mode} randomization" + (f" ({level})" if level is not None else ""),
                   unit="step", disable=not progress)
        for index, step in enumerate(bar):
            bar.set_postfix_str(step.label)
            randomizer.randomize(step.blocks)
            classes = trained_classes if fixed_class else model.predict(images)
            masks = compute_masks(model, images, methods, classes=classes, seed=seed, settings=method_settings)
            if reference is None:
                reference = masks
            for method in methods:
                for n in range(len(images)):
                    for metric in metrics:
                        value = metrics_module.similarity(metric, reference[method][n], masks[method][n])
                        result.rows.append({"image": n, "method": method, "step_index": index, "step": step.label,
                                            "metric": metric, "value": float(value),
                                            "class_explained": int(classes[n]), "level": level})
            result.masks[step.label] = {m: masks[m][:keep_masks] for m in methods}
            result.classes[step.label] = classes
            if eval_data is not None:
                result.accuracy[step.label] = model.accuracy(*eval_data)
    return result
