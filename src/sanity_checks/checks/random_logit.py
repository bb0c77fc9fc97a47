"""Random logit test (Sixt, Granz & Landgraf, ICML 2020): does the explanation depend on the class
it explains?

For each image, the map of the explained class c (the trained model's top class) is compared with
the map of another class c' != c, drawn uniformly among the other classes from a generator seeded
by (seed, image id, "random_logit"). Methods whose maps do not change with the class
(modified-backprop methods such as Guided BackProp, which mostly reconstruct the input) score
near the edge control, which ignores the class by construction.
"""
import numpy as np

from .. import metrics as metrics_module
from ..by_image import predicted_classes
from ..random_streams import draw_rng
from .common import (CheckError, CheckResult, check_ids, constant_rows, maps_with_controls, merged_settings,
                     method_names, row)
from .controls import EDGE, INPUT_NOISE
from .spec import CheckSpec, Column, MapFigure

NAME = "random_logit"
DEFAULTS = {"metrics": ("ssim", "spearman_abs", "spearman_signed"), "methods": None, "method_settings": None,
            "keep_maps": 3}


def need_two_classes(num_classes):
    if num_classes < 2:
        raise CheckError(f"the random-logit test needs two classes or more; the model has {num_classes} output "
                         f"(a regression or sigmoid head), so there is no other class to explain")


def other_classes(classes, image_ids, seed, num_classes):
    """One class per image, uniform over the classes other than its own, seeded per image id."""
    need_two_classes(num_classes)
    out = np.empty(len(classes), dtype=np.int64)
    for n, (c, image_id) in enumerate(zip(classes, image_ids)):
        k = int(draw_rng(seed, image_id, "random_logit").integers(0, num_classes - 1))
        out[n] = k + (k >= int(c))   # skip the explained class
    return out


def run(model, images, image_ids, seed=0, settings=None):
    """Rows per (image, method or control, metric): similarity of the explained class's map and the other's."""
    s = merged_settings(DEFAULTS, settings)
    images = model.check_images(images)
    ids = check_ids(images, image_ids)
    methods = method_names(model, s["methods"])
    metrics_module.check_names(list(s["metrics"]))
    need_two_classes(model.architecture.num_classes)   # before any work
    classes = predicted_classes(model, images, ids)
    others = other_classes(classes, ids, seed, model.architecture.num_classes)
    explained = maps_with_controls(model, images, ids, methods, classes, seed, s["method_settings"], "explained")
    other = maps_with_controls(model, images, ids, methods, others, seed, s["method_settings"], "other")
    rows = []
    for name in explained:
        for n, image_id in enumerate(ids):
            fields = {"state": "other class", "detail": f"{int(classes[n])}->{int(others[n])}"}
            rows += [row(NAME, image_id, name, metric,
                         metrics_module.similarity(metric, explained[name][n], other[name][n]), **fields)
                     for metric in s["metrics"]]
            rows += constant_rows(NAME, image_id, name, explained[name][n], other[name][n], **fields)
    k = s["keep_maps"]
    maps = {f"explained|{name}": v[:k] for name, v in explained.items()}
    maps.update({f"other|{name}": v[:k] for name, v in other.items()})
    maps.update(images=images[:k], classes=classes[:k], other_classes=others[:k])
    return CheckResult(rows, {**s, "metrics": list(s["metrics"]), "methods": methods, "seed": seed}, maps=maps)


SPEC = CheckSpec(
    NAME, run, row_group=("method",), defaults=DEFAULTS,
    columns=(Column("random logit", NAME, "ssim", "lower", (EDGE, INPUT_NOISE),
                    explanation="SSIM between the map of the explained class and of a random other class"),),
    min_effect=0.05,   # SSIM, 0 ... 1 here
    figures=(MapFigure("random_logit_maps.png", "explained", "other", ("class {classes}", "class {other_classes}"),
                       "random logit: explained class vs a random other class"),))
