"""Input invariance on the TensorFlow engine: a copy of a :class:`~sanity_checks.model.GraphModel` whose
first layer compensates a constant input shift exactly (``GraphModel.shifted_input_model``).

The shifted model computes exactly the original's logits on x + m: its first layer (a convolution
or a dense layer fed by the input, with a bias) gets the bias b - W m, where W m is the layer's
linear response to the constant image m. For a convolution with zero padding W m is not constant
near the borders, so the compensation is a spatial bias map (H, W, C): exact everywhere. Other first
layers (e.g. Inception's conv + batch norm without bias) raise
:class:`~sanity_checks.errors.UnsupportedError` with the reason.
"""
import dataclasses

import numpy as np

from ..compat import tf, tf1
from ..errors import UnsupportedError


def first_layer(model):
    """(weights name, bias name, linear output tensor) of the layer fed by the input."""
    block = model.architecture.block_names[-1]
    owner = model.architecture.block(block)
    shapes = {v.op.name: v.shape.rank for v in model.variables if owner.owns(v.op.name) and v.trainable}
    weights = [n for n, rank in shapes.items() if rank in (2, 4)]
    biases = [n for n, rank in shapes.items() if rank == 1]
    if len(weights) != 1 or len(biases) != 1:
        raise UnsupportedError(f"input invariance needs a first layer with one weight and one bias variable "
                               f"(conv or dense fed by the input); block {block!r} has {sorted(shapes)}")
    _check_bias_is_added(model, biases[0])
    scope = weights[0].rsplit("/", 1)[0] + "/"
    for op in model.graph.get_operations():
        if op.type in ("Conv2D", "MatMul") and op.name.startswith(scope) and len(op.inputs) == 2:
            reads = op.inputs[1].op
            if reads.type in ("ReadVariableOp", "Identity") and reads.inputs[0].op.name == weights[0]:
                return weights[0], biases[0], op.outputs[0]
    raise UnsupportedError(f"no Conv2D or MatMul reading {weights[0]} in the model's graph: the first layer is "
                           f"not a plain conv or dense layer")


def _check_bias_is_added(model, bias):
    """Refuse a 'bias' the forward graph does not simply add (e.g. a batch-norm offset, as in Inception)."""
    uses = set()
    for op in model.graph.get_operations():
        if op.type in ("ReadVariableOp", "Identity") and op.inputs and op.inputs[0].op.name == bias \
                and not op.name.startswith(("set_weights", "save", "gradients", "guided")):
            uses |= {c.type for out in op.outputs for c in out.consumers()
                     if not c.name.startswith(("gradients", "save", "guided", "set_weights"))}  # forward graph only
    if not uses or not uses <= {"Add", "AddV2", "BiasAdd"}:
        raise UnsupportedError(f"input invariance needs the first layer's bias to be added to its output; {bias} is "
                               f"used by {', '.join(sorted(uses)) or 'nothing'} (e.g. a batch-norm offset), so the "
                               f"shift cannot be compensated there")


def shift_compensation(model, shift):
    """The first layer's linear response to the constant image ``shift``: W m, (H, W, C) or (units,)."""
    weights, bias, linear = first_layer(model)
    constant = np.full((1,) + tuple(model.architecture.input_shape), shift, np.float32)
    return bias, model.session.run(linear, {model.inputs: constant})[0]


def shifted_model(model, shift):
    """(a new GraphModel (``type(model)``) with the same weights whose first-layer bias is b - W m, the bias's
    name).

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

    shifted = type(model)(dataclasses.replace(architecture, build=build))
    shifted.set_weights(model.get_weights())
    return shifted, bias_name
