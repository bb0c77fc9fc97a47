"""Model parameter randomization test (Adebayo et al. 2018), cascading top-down and bottom-up,
with the controls beside every method.

For each order, the model goes through the cascade (original, then one more block at each step;
``Randomizer(order=...)``), and each method's map at each state is compared with its map under the
trained model, per image and metric. The original state is computed once and shared by both
orders; the class explained is the trained model's (fixed, as Hedström et al. 2023) unless
``fixed_class`` is False (then each state explains its own top class, as the original code did).
The maps of the first images are kept at about a dozen states per order, evenly spaced with the
first and the last (``figure_states``), for the mask grid.

:func:`average_similarity` averages over the *randomized* states only: Quantus'
``return_average_correlation`` also averages in the original state, whose similarity with
itself is 1.0 by construction.
"""
import numpy as np

from .. import metrics as metrics_module
from ..by_image import predicted_classes
from ..figure_states import grid_states
from ..randomize import Randomizer, Strategy
from .common import CheckResult, check_ids, constant_rows, maps_with_controls, merged_settings, method_names, row
from .controls import EDGE, INPUT_NOISE
from .spec import RANDOMIZATION, CascadeFigure, CheckSpec, Column, GridFigure, Option

NAME = "mprt"
DEFAULTS = {"orders": ("top-down", "bottom-up"), "metrics": ("spearman_abs", "spearman_signed", "ssim"),
            "randomization": "reinit", "fixed_class": True, "methods": None, "method_settings": None,
            "keep_maps": 2, "blocks": None}


def run(model, images, image_ids, seed=0, settings=None):
    """Rows: one per (image, method or control, order, step, metric); value = similarity to the original map.

    ``blocks`` (setting): the blocks to cascade through (default all); the last state randomizes all of them.
    """
    s = merged_settings(DEFAULTS, settings)
    images = model.check_images(images)
    ids = check_ids(images, image_ids)
    methods = method_names(model, s["methods"])
    metrics_module.check_names(list(s["metrics"]))
    trained_classes = predicted_classes(model, images, ids)
    rows, kept = [], {}
    reference = None
    for order in s["orders"]:
        randomizer = Randomizer(model, Strategy(s["randomization"]), seed=seed, order=order)
        steps = randomizer.steps("cascading", s["blocks"])
        shown = set(grid_states(len(steps)))
        with randomizer:
            for index, step in randomizer.through(steps, f"randomization {order}"):
                if index == 0 and reference is not None:
                    masks = reference
                else:
                    classes = trained_classes if s["fixed_class"] else predicted_classes(model, images, ids)
                    masks = maps_with_controls(model, images, ids, methods, classes, seed, s["method_settings"],
                                               state=f"{order}/{step.label}" if index else "original")
                    if index == 0:
                        reference = masks
                for name in masks:
                    for n, image_id in enumerate(ids):
                        for metric in s["metrics"]:
                            value = metrics_module.similarity(metric, reference[name][n], masks[name][n])
                            rows.append(row(NAME, image_id, name, metric, value, state=step.label, order=order,
                                            step_index=index))
                        rows += constant_rows(NAME, image_id, name, reference[name][n] if index == 0 else None,
                                              masks[name][n] if index else None, state=step.label, order=order,
                                              step_index=index)
                if index == len(steps) - 1:
                    kept[f"{order}/randomized"] = {k: v[:s["keep_maps"]] for k, v in masks.items()}
                if index in shown:
                    kept[grid_key(order, index, step.label)] = {k: _grid_map(v[:s["keep_maps"]])
                                                                for k, v in masks.items()}
    kept["original"] = {k: v[:s["keep_maps"]] for k, v in reference.items()}
    return CheckResult(rows, {**s, "orders": list(s["orders"]), "metrics": list(s["metrics"]), "methods": methods,
                              "seed": seed, "randomization_described": Strategy(s["randomization"]).describe(),
                              "blocks_top_down": list(model.architecture.block_names)},
                       maps={**_flatten(kept), "images": images[:s["keep_maps"]]})


def grid_key(order, index, label):
    """The prefix of the maps kept for the mask grid at state ``index`` (labelled ``label``) of ``order``."""
    return f"grid/{order}/{index:04d} {label}"


def parse_grid_key(prefix):
    """(order, index, label) from a :func:`grid_key`, or None for another prefix."""
    if not prefix.startswith("grid/"):
        return None
    order, rest = prefix[len("grid/"):].split("/", 1)
    index, label = rest.split(" ", 1)
    return order, int(index), label


def _grid_map(maps):
    """What the mask grid draws of (N, H, W, C) maps: (N, H, W) float16 absolute maps normalized to [0, 1]
    (``metrics.abs_norm``), a quarter of the bytes of the maps at every shown state of a large model."""
    return np.stack([metrics_module.abs_norm(m) for m in maps]).astype(np.float16) if len(maps) else \
        np.zeros((0,) + maps.shape[1:3], np.float16)


def _flatten(kept):
    return {f"{state}|{name}": value for state, by_name in kept.items() for name, value in by_name.items()}


def average_similarity(rows, include_original=False):
    """{(method, order, metric): mean over images and states}; the original state only if asked."""
    groups = {}
    for r in rows:
        if r["check"] != NAME or (r["step_index"] == 0 and not include_original):
            continue
        groups.setdefault((r["method"], r["order"], r["metric"]), []).append(r["value"])
    return {key: float(np.mean(v)) for key, v in groups.items()}


def final_state_rows(rows, order, metric):
    """The rows of the fully randomized state (the last step) of ``order`` for ``metric``."""
    rows = [r for r in rows if r["check"] == NAME and r["order"] == order and r["metric"] == metric]
    last = max(r["step_index"] for r in rows)
    return [r for r in rows if r["step_index"] == last]


SPEC = CheckSpec(
    NAME, run, row_group=("order", "step_index", "method"), defaults=DEFAULTS,
    columns=(
        Column("randomization top-down", NAME, "spearman_abs", "lower", (EDGE, INPUT_NOISE), order="top-down",
               explanation="Spearman (absolute maps) between the map of the trained model and of the fully "
                           "randomized model, reached top-down (output block first)"),
        Column("randomization bottom-up", NAME, "spearman_abs", "lower", (EDGE, INPUT_NOISE), order="bottom-up",
               explanation="the same, reached bottom-up (input block first)")),
    min_effect=0.05,   # Spearman of absolute maps, 0 ... 1 here
    options=(RANDOMIZATION,
             Option("--blocks", "blocks", "randomization top-down/bottom-up: blocks to cascade through (default all; "
                                          "the last state randomizes all of them); 'layers': a Keras or PyTorch "
                                          "model's blocks one per weighted layer instead of its stages",
                    nargs="+")),
    figures=(CascadeFigure("cascading_curves.png"), GridFigure("mask_grid.png")))
