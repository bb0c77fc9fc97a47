"""Faithfulness by pixel deletion (Samek et al. 2017's region perturbation, "most relevant first").

For each image and map, pixels are ranked by relevance (default: the absolute map summed over
channels; ``rank_by="signed"`` uses the signed sum), and deleted in ``steps`` equal portions,
most relevant first: a deleted pixel takes the replacement value in every channel. The curve is
the explained class's logit after each portion (fraction 0 ... 1 of the pixels); the score is its
area (trapezoid over the fraction, so in logit units). A faithful map makes the logit fall fast:
a small area. Ties in the ranking (e.g. the zero background of Gradient⊙Input on MNIST) are broken
by a permutation seeded by (seed, image id, "deletion_ties"), the same for every map of an image.

Replacement values are named (:data:`REPLACEMENTS`) or a number: ``zero`` (black on MNIST, 0),
``image_min``, ``image_mean``. The random control deletes pixels in a random order: the chance level.
"""
import numpy as np

from ..by_image import predicted_classes
from ..random_streams import draw_rng
from .common import (CheckError, CheckResult, check_ids, constant_rows, maps_with_controls, merged_settings,
                     method_names, row)
from .controls import RANDOM
from .spec import CheckSpec, Column, Option

NAME = "faithfulness"
REPLACEMENTS = ("zero", "image_min", "image_mean")
DEFAULTS = {"replacement": "zero", "steps": 20, "rank_by": "abs", "methods": None, "method_settings": None}


def replacement_values(images, replacement):
    """(N,) the value deleted pixels take in each image."""
    flat = images.reshape(len(images), -1)
    if replacement == "zero":
        return np.zeros(len(images), np.float32)
    if replacement == "image_min":
        return flat.min(axis=1)
    if replacement == "image_mean":
        return flat.mean(axis=1)
    try:
        return np.full(len(images), float(replacement), np.float32)
    except (TypeError, ValueError):
        raise CheckError(f"unknown replacement {replacement!r}; valid: {', '.join(REPLACEMENTS)} or a number") from None


def deletion_order(mask, tie_breaker, rank_by="abs"):
    """Pixel indices (row-major over H x W), most relevant first; ties in the order of ``tie_breaker``."""
    relevance = np.abs(mask).sum(axis=-1) if rank_by == "abs" else mask.sum(axis=-1)
    relevance = relevance.ravel()
    # lexsort: last key is primary (relevance, descending), then the seeded permutation
    return np.lexsort((tie_breaker, -relevance))


def deleted_images(image, order, steps, value):
    """(steps + 1, H, W, C): the image with the first k/steps of ``order`` deleted, k = 0 ... steps."""
    h, w = image.shape[:2]
    counts = np.round(np.linspace(0, h * w, steps + 1)).astype(int)
    out = np.repeat(image[None], steps + 1, axis=0)
    for k, count in enumerate(counts):
        rows_, cols = np.unravel_index(order[:count], (h, w))
        out[k, rows_, cols, :] = value
    return out


def curve_area(curve):
    """Trapezoid area of a curve sampled at equally spaced fractions 0 ... 1."""
    curve = np.asarray(curve, dtype=np.float64)
    return float(((curve[1:] + curve[:-1]) / 2).sum() / (len(curve) - 1))


def run(model, images, image_ids, seed=0, settings=None):
    """Rows per (image, method or control): metric ``deletion_area``, and ``logit`` at each step (step_index k)."""
    s = merged_settings(DEFAULTS, settings)
    steps = int(s["steps"])
    if steps < 1 or s["rank_by"] not in ("abs", "signed"):
        raise CheckError(f"deletion needs steps >= 1 and rank_by abs or signed, got {steps}, {s['rank_by']!r}")
    images = model.check_images(images)
    ids = check_ids(images, image_ids)
    methods = method_names(model, s["methods"])
    values = replacement_values(images, s["replacement"])
    classes = predicted_classes(model, images, ids)
    maps = maps_with_controls(model, images, ids, methods, classes, seed, s["method_settings"], "original")
    names = list(maps)
    pixels = images.shape[1] * images.shape[2]
    ties = [draw_rng(seed, i, "deletion_ties").permutation(pixels) for i in ids]
    per_image = []
    for n in range(len(images)):   # one model call per image: its maps' deletions fill it (by_image's rule)
        batch = np.concatenate([deleted_images(images[n], deletion_order(maps[name][n], ties[n], s["rank_by"]), steps,
                                               values[n]) for name in names])
        per_image.append(model.predict_logits(batch)[:, classes[n]].reshape(len(names), steps + 1))
    curves = np.stack(per_image, axis=1)   # (names, images, steps + 1)
    rows = []
    for m, name in enumerate(names):
        for n, image_id in enumerate(ids):
            rows.append(row(NAME, image_id, name, "deletion_area", curve_area(curves[m, n]), state="original"))
            rows += constant_rows(NAME, image_id, name, maps[name][n], state="original")
            rows.extend(row(NAME, image_id, name, "logit", curves[m, n, k], state=f"{k}/{steps}", step_index=k)
                        for k in range(steps + 1))
    return CheckResult(rows, {**s, "methods": methods, "seed": seed})


SPEC = CheckSpec(
    NAME, run, row_group=("method",), defaults=DEFAULTS,
    columns=(Column("faithfulness", NAME, "deletion_area", "lower", (RANDOM,),
                    explanation="area under the explained logit while deleting pixels, most relevant first",
                    effect_unit="logit drop"),),
    # the area under the logit while deleting is in logit units: δ is 5% of the image's logit drop from
    # intact to fully deleted (mean over images), the range the area moves in; a fixed number of logits
    # would mean something else for every model
    min_effect=0.05,
    options=(Option("--replacement", "replacement",
                    "faithfulness: value of deleted pixels: " + ", ".join(REPLACEMENTS)
                    + " or a number (default {default})"),
             Option("--deletion-steps", "steps", "faithfulness: deletion steps (default {default})", type=int)))
