"""Input invariance (Kindermans et al. 2017): a constant shift of the input, compensated inside the
model, must not change an explanation.

The shifted model computes exactly the original's logits on x + m: its first layer (a convolution
or a dense layer fed by the input, with a bias) computes (W (x + m) - W m) + b, where W m is the
layer's linear response to the constant image m. For a convolution with zero padding W m is not
constant near the borders, so it is computed per position: exact everywhere. Every engine computes
W m inside the model, in each call, on a constant batch shaped like the call's own, so it is rounded
as W (x + m) is: on a zero background the first layer gives bitwise the original's output, max-pooling
breaks its tied maxima as the original does, and images are explained in blocks (``by_image``) as in
every other check, with the same result whatever the split. The logits of (shifted model, x + m) are
checked against (model, x) to 1e-5 (relative to the logits' scale) and the check refuses to go on
otherwise.

A method is input-invariant when its map on (shifted model, x + m) equals its map on (model, x).
Expected: Gradient, SmoothGrad (same noise), Guided BackProp, GradCAM pass; Gradient⊙Input
fails; Integrated Gradients fails with the zero baseline and passes when the baseline is shifted
too (rows ``baseline`` in ``detail``). The score is the relative L1 difference
sum|e_shifted - e| / sum|e| (0 = invariant).

The shifted model comes from the model's engine (the contract's ``shifted_input_model``; TensorFlow:
``engines.tf_shift``, the first conv or dense layer the input meets in the graph), so it works for any architecture
whose first layer is a conv or dense layer with a bias; a model whose engine refuses (e.g.
Inception's conv + batch norm without bias) is refused with a
:class:`~sanity_checks.checks.common.CheckError` carrying the engine's reason.
"""
import numpy as np

from ..by_image import logits, predicted_classes
from ..errors import UnsupportedError
from .common import (CheckError, CheckResult, check_ids, constant_rows, maps_with_controls, merged_settings,
                     method_names, row)
from .controls import EDGE
from .spec import CheckSpec, Column, MapFigure, Option

NAME = "input_invariance"
DEFAULTS = {"shift": -1.0, "tolerance": 1e-5, "methods": None, "method_settings": None, "keep_maps": 3}
#: methods with a baseline: checked twice, with the zero baseline and with the baseline shifted too.
BASELINE_METHODS = ("integrated_gradients", "ig_smoothgrad")


def check_equivalence(model, shifted, images, shift, tolerance, image_ids=None):
    """The largest per-image error max |logits(shifted, x + m) - logits(model, x)| / max(1, max |logits(model, x)|);
    refuses (naming the first image) above ``tolerance``.

    Per image (logits in blocks keyed by image id), so that the error of a set of images is the max over any split
    of it into tasks.
    """
    original = logits(model, images, image_ids)
    moved = logits(shifted, images + np.float32(shift), image_ids)
    errors = np.abs(moved - original).max(axis=1) / np.maximum(1.0, np.abs(original).max(axis=1))
    bad = np.flatnonzero(~(errors <= tolerance))
    if len(bad):
        which = f"image {int(image_ids[bad[0]])}" if image_ids is not None else f"image {int(bad[0])} of the batch"
        raise CheckError(f"the shifted model's logits differ from the original's by {errors[bad[0]]:.2e} (relative, "
                         f"{which}), above the tolerance {tolerance:g}: the shift is not compensated exactly")
    return float(errors.max())


def merge_settings(settings):
    """The settings of a run split into tasks: the same in every task, except the logit error (the max)."""
    return {**settings[0], "logit_error": max(s["logit_error"] for s in settings)}


def relative_l1(reference, other):
    """sum|other - reference| / sum|reference| per image (0 when both are all zero)."""
    a = reference.reshape(len(reference), -1).astype(np.float64)
    b = other.reshape(len(other), -1).astype(np.float64)
    num, den = np.abs(b - a).sum(axis=1), np.abs(a).sum(axis=1)
    return np.where(den > 0, num / np.where(den > 0, den, 1), np.where(num > 0, np.inf, 0.0))


def run(model, images, image_ids, seed=0, settings=None):
    """Rows per (image, method or control[, baseline]): metric ``relative_l1``; ``detail`` names the baseline."""
    s = merged_settings(DEFAULTS, settings)
    images = model.check_images(images)
    ids = check_ids(images, image_ids)
    methods = method_names(model, s["methods"])
    shift = float(s["shift"])
    method_settings = {k: dict(v) for k, v in (s["method_settings"] or {}).items()}
    try:
        shifted, compensated = model.shifted_input_model(shift)
    except UnsupportedError as err:
        raise CheckError(str(err)) from None
    try:
        return _compare(model, shifted, compensated, images, ids, methods, seed, method_settings, shift, s)
    finally:
        shifted.close()


def _compare(model, shifted, compensated, images, ids, methods, seed, method_settings, shift, s):
    """The check's rows, settings and maps: both models explain the images in blocks keyed by image id."""
    error = check_equivalence(model, shifted, images, shift, float(s["tolerance"]), ids)
    classes = predicted_classes(model, images, ids)
    moved = images + np.float32(shift)
    original = maps_with_controls(model, images, ids, methods, classes, seed, method_settings, "original")
    after = maps_with_controls(shifted, moved, ids, methods, classes, seed, method_settings, "shifted")
    with_baseline = [m for m in methods if m in BASELINE_METHODS]
    shifted_baseline = {}
    if with_baseline:
        settings_shifted = {m: {**method_settings.get(m, {}), "baseline": shift} for m in with_baseline}
        shifted_baseline = maps_with_controls(shifted, moved, ids, with_baseline, classes, seed,
                                              {**method_settings, **settings_shifted}, "shifted")
    rows = []
    for name in original:
        baseline = "zero baseline" if name in BASELINE_METHODS else ""
        for n, value in enumerate(relative_l1(original[name], after[name])):
            rows.append(row(NAME, ids[n], name, "relative_l1", value, state="shifted", detail=baseline))
            rows += constant_rows(NAME, ids[n], name, original[name][n], after[name][n], state="shifted",
                                  detail=baseline)
    for name in with_baseline:
        for n, value in enumerate(relative_l1(original[name], shifted_baseline[name])):
            rows.append(row(NAME, ids[n], name, "relative_l1", value, state="shifted", detail="shifted baseline"))
            rows += constant_rows(NAME, ids[n], name, original[name][n], shifted_baseline[name][n], state="shifted",
                                  detail="shifted baseline")
    k = s["keep_maps"]
    maps = {f"original|{name}": v[:k] for name, v in original.items()}
    maps.update({f"shifted|{name}": v[:k] for name, v in after.items()})
    maps.update({f"shifted baseline|{name}": v[:k] for name, v in shifted_baseline.items()})
    maps["images"] = images[:k]
    return CheckResult(rows, {**s, "methods": methods, "seed": seed, "logit_error": error,
                              "compensated_variable": compensated}, maps=maps)


SPEC = CheckSpec(
    NAME, run, row_group=("method", "detail"), defaults=DEFAULTS,
    columns=(Column("input invariance", NAME, "relative_l1", "lower", (EDGE,), detail="default",
                    explanation="relative L1 change of the map under a constant input shift compensated in the "
                                "first layer"),),
    min_effect=None,   # judged against a fixed tolerance (report.rules.INVARIANCE_TOLERANCE), not a control
    options=(Option("--shift", "shift", "input invariance: the constant shift m (default {default:g})", type=float),),
    figures=(MapFigure("input_invariance_maps.png", "original", "shifted", ("model, x", "shifted, x + m"),
                       "input invariance (baseline methods: zero baseline)"),
             MapFigure("input_invariance_shifted_baseline_maps.png", "original", "shifted baseline",
                       ("model, x", "shifted, x + m"), "input invariance, baseline shifted too", only_present=True)),
    merge_settings=merge_settings)
