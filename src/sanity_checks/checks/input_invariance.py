"""Input invariance (Kindermans et al. 2017): a constant shift of the input, compensated inside the
model, must not change an explanation.

The shifted model computes exactly the original's logits on x + m: its first layer (a convolution
or a dense layer fed by the input, with a bias) gets the bias b - W m, where W m is the layer's
linear response to the constant image m. For a convolution with zero padding W m is not constant
near the borders, so the compensation is a spatial bias map (H, W, C): exact everywhere. The
logits of (shifted model, x + m) are checked against (model, x) to 1e-5 (relative to the logits'
scale) and the check refuses to go on otherwise.

A method is input-invariant when its map on (shifted model, x + m) equals its map on (model, x).
Expected: Gradient, SmoothGrad (same noise), Guided BackProp, GradCAM pass; Gradient⊙Input
fails; Integrated Gradients fails with the zero baseline and passes when the baseline is shifted
too (rows ``baseline`` in ``detail``). The score is the relative L1 difference
sum|e_shifted - e| / sum|e| (0 = invariant).

The shift is built from the model's own variables (the bottom block's weights and bias, found
through ``Randomizer.variables``), so it works for any architecture whose first layer is a conv or
dense layer with a bias; other first layers (e.g. Inception's conv + batch norm without bias)
are refused with a :class:`~sanity_checks.checks.common.CheckError`.
"""
import dataclasses

import numpy as np

from ..compat import tf, tf1
from ..model import GraphModel
from ..randomize import Randomizer
from .common import CheckError, CheckResult, check_ids, logits, maps_with_controls, merged_settings, method_names, \
    predicted_classes, row

NAME = "input_invariance"
#: The columns that name the loop around the image loop in ``run``'s rows: rows of tasks merge back
#: into ``run``'s order by (these, image, order within the task) (see ``checks.jobs``).
ROW_GROUP = ("method", "detail")
DEFAULTS = {"shift": -1.0, "tolerance": 1e-5, "methods": None, "method_settings": None, "keep_maps": 3}
#: methods with a baseline: checked twice, with the zero baseline and with the baseline shifted too.
BASELINE_METHODS = ("integrated_gradients", "ig_smoothgrad")


def first_layer(model):
    """(weights name, bias name, linear output tensor) of the layer fed by the input."""
    block = model.architecture.block_names[-1]
    names = Randomizer(model).variables(block)
    shapes = {v.op.name: v.shape.rank for v in model.variables if v.op.name in names}
    weights = [n for n, rank in shapes.items() if rank in (2, 4)]
    biases = [n for n, rank in shapes.items() if rank == 1]
    if len(weights) != 1 or len(biases) != 1:
        raise CheckError(f"input invariance needs a first layer with one weight and one bias variable "
                         f"(conv or dense fed by the input); block {block!r} has {sorted(shapes)}")
    _check_bias_is_added(model, biases[0])
    scope = weights[0].rsplit("/", 1)[0] + "/"
    for op in model.graph.get_operations():
        if op.type in ("Conv2D", "MatMul") and op.name.startswith(scope) and len(op.inputs) == 2:
            reads = op.inputs[1].op
            if reads.type in ("ReadVariableOp", "Identity") and reads.inputs[0].op.name == weights[0]:
                return weights[0], biases[0], op.outputs[0]
    raise CheckError(f"no Conv2D or MatMul reading {weights[0]} in the model's graph: the first layer is not "
                     f"a plain conv or dense layer")


def _check_bias_is_added(model, bias):
    """Refuse a 'bias' the forward graph does not simply add (e.g. a batch-norm offset, as in Inception)."""
    uses = set()
    for op in model.graph.get_operations():
        if op.type in ("ReadVariableOp", "Identity") and op.inputs and op.inputs[0].op.name == bias \
                and not op.name.startswith(("set_weights", "save", "gradients", "guided")):
            uses |= {c.type for out in op.outputs for c in out.consumers()
                     if not c.name.startswith(("gradients", "save", "guided", "set_weights"))}  # forward graph only
    if not uses or not uses <= {"Add", "AddV2", "BiasAdd"}:
        raise CheckError(f"input invariance needs the first layer's bias to be added to its output; {bias} is used "
                         f"by {', '.join(sorted(uses)) or 'nothing'} (e.g. a batch-norm offset), so the shift "
                         f"cannot be compensated there")


def shift_compensation(model, shift):
    """The first layer's linear response to the constant image ``shift``: W m, (H, W, C) or (units,)."""
    weights, bias, linear = first_layer(model)
    constant = np.full((1,) + tuple(model.architecture.input_shape), shift, np.float32)
    return bias, model.session.run(linear, {model.inputs: constant})[0]


def shifted_model(model, shift):
    """A new :class:`GraphModel` with the same weights whose first-layer bias is b - W m.

    Built with a custom getter that returns ``bias - W m`` wherever the graph reads the bias
    (both the plain and the guided-backprop tower), so the variables themselves are unchanged.
    """
    bias_name, compensation = shift_compensation(model, shift)
    architecture = model.architecture

    def build(inputs):
        def getter(getter, name, *args, **kwargs):   # TensorFlow passes these two by keyword
            var = getter(name, *args, **kwargs)
            return var - tf.constant(compensation, dtype=var.dtype.base_dtype) if name == bias_name else var
        with tf1.variable_scope(tf1.get_variable_scope(), custom_getter=getter):
            return architecture.build(inputs)

    shifted = GraphModel(dataclasses.replace(architecture, build=build))
    shifted.set_weights(model.get_weights())
    return shifted


def check_equivalence(model, shifted, images, shift, tolerance, image_ids=None):
    """The largest per-image error max |logits(shifted, x + m) - logits(model, x)| / max(1, max |logits(model, x)|);
    refuses (naming the first image) above ``tolerance``.

    Per image, so that the error of a set of images is the max over any split of it into tasks.
    """
    original = logits(model, images)
    moved = logits(shifted, images + np.float32(shift))
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
    shifted = shifted_model(model, shift)
    try:
        error = check_equivalence(model, shifted, images, shift, float(s["tolerance"]), ids)
        classes = predicted_classes(model, images)
        moved = images + np.float32(shift)
        original = maps_with_controls(model, images, ids, methods, classes, seed, method_settings, "original")
        after = maps_with_controls(shifted, moved, ids, methods, classes, seed, method_settings, "shifted")
        with_baseline = [m for m in methods if m in BASELINE_METHODS]
        shifted_baseline = {}
        if with_baseline:
            settings_shifted = {m: {**method_settings.get(m, {}), "baseline": shift} for m in with_baseline}
            shifted_baseline = maps_with_controls(shifted, moved, ids, with_baseline, classes, seed,
                                                  {**method_settings, **settings_shifted}, "shifted")
    finally:
        shifted.close()
    rows = []
    for name in original:
        baseline = "zero baseline" if name in BASELINE_METHODS else ""
        for n, value in enumerate(relative_l1(original[name], after[name])):
            rows.append(row(NAME, ids[n], name, "relative_l1", value, state="shifted", detail=baseline))
    for name in with_baseline:
        for n, value in enumerate(relative_l1(original[name], shifted_baseline[name])):
            rows.append(row(NAME, ids[n], name, "relative_l1", value, state="shifted", detail="shifted baseline"))
    k = s["keep_maps"]
    maps = {f"original|{name}": v[:k] for name, v in original.items()}
    maps.update({f"shifted|{name}": v[:k] for name, v in after.items()})
    maps.update({f"shifted baseline|{name}": v[:k] for name, v in shifted_baseline.items()})
    maps["images"] = images[:k]
    return CheckResult(rows, {**s, "methods": methods, "seed": seed, "logit_error": error,
                              "compensated_variable": first_layer(model)[1]}, maps=maps)
