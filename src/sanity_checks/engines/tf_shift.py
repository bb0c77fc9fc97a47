"""Input invariance on the TensorFlow engine: a copy of a :class:`~sanity_checks.model.GraphModel` whose
first layer compensates a constant input shift exactly (``GraphModel.shifted_input_model``).

The shifted model computes exactly the original's logits on x + m: its first layer (a convolution
or a dense layer with a bias, fed by the input or by an affine preprocessing of it, e.g. Keras'
Rescaling or Normalization) gets the bias b - W m, where W m is the layer's linear response to the
constant image m (its linear output on m minus its linear output on 0). For a convolution with zero
padding W m is not constant near the borders, so the compensation is a spatial bias map (H, W, C):
exact everywhere. The bias is found in the graph as what is added to the layer's Conv2D or MatMul
output: a BiasAdd (our networks, tf-keras) or an Add of the bias reshaped to (1, 1, 1, C) (Keras 3).
Other first layers (e.g. Inception's conv + batch norm without bias) raise
:class:`~sanity_checks.errors.UnsupportedError` with the reason. The check's logit comparison stays
the guard that the compensation is exact.

The copy is built with the same ``build``: through a custom getter that returns ``b - W m`` wherever the
graph reads the bias, or, for a build that offers ``with_offset(bias name, W m)`` (a Keras model, whose
variables do not pass through TensorFlow's getters), with the build it returns, its weights matched to
the original's by ``variable_names()`` (Keras' weights order).
"""
import dataclasses

import numpy as np

from ..compat import tf, tf1
from ..errors import UnsupportedError

ADDS = ("Add", "AddV2", "BiasAdd")
RESHAPES = ("Reshape", "Squeeze", "ExpandDims", "Identity")
#: name scopes of graph ops that are not the forward graph (assign ops, savers, gradients, the guided tower)
NOT_FORWARD = ("set_weights", "save", "gradients", "guided")


def _ancestors(tensor):
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op.name not in seen:
            seen.add(op.name)
            stack.extend(t.op for t in op.inputs)
    return seen


def _bias_shaped(op):
    """Whether ``op``'s output is (C,) or (1, ..., 1, C)."""
    shape = op.outputs[0].shape
    return shape.rank is not None and all(d == 1 for d in shape.as_list()[:-1])


def _reads(op, variable):
    """Whether ``op``'s output is the value of ``variable``: a read, or a read reshaped to (1, ..., 1, C)
    and back (Keras 3 adds a conv bias as Reshape -> Squeeze -> BiasAdd)."""
    while op.inputs:
        if op.type in ("ReadVariableOp", "Identity") and op.inputs[0].op.name == variable:
            return True
        if op.type not in RESHAPES or not _bias_shaped(op):
            return False
        op = op.inputs[0].op
    return False


def _forward_uses(model, variable):
    """Op types that consume ``variable``'s value in the forward graph (past reshapes of the value)."""
    uses, stack = set(), [op for op in model.graph.get_operations()
                          if op.type in ("ReadVariableOp", "Identity") and op.inputs
                          and op.inputs[0].op.name == variable and not op.name.startswith(NOT_FORWARD)]
    while stack:
        for consumer in (c for out in stack.pop().outputs for c in out.consumers()):
            if consumer.name.startswith(NOT_FORWARD):
                continue
            if consumer.type in RESHAPES and _bias_shaped(consumer):
                stack.append(consumer)
            else:
                uses.add(consumer.type)
    return uses


def first_layer(model):
    """(weights name, bias name, linear output tensor) of the bottom block's conv or dense layer."""
    block = model.architecture.block_names[-1]
    owner = model.architecture.block(block)
    shapes = {v.op.name: v.shape.rank for v in model.variables if owner.owns(v.op.name) and v.trainable}
    weights = [n for n, rank in shapes.items() if rank in (2, 4)]
    biases = [n for n, rank in shapes.items() if rank == 1]
    if len(weights) != 1 or not biases:
        raise UnsupportedError(f"input invariance needs a first layer with one weight and one bias variable "
                               f"(conv or dense fed by the input); block {block!r} has {sorted(shapes)}")
    upstream = _ancestors(model.logits)
    linear = None
    for op in model.graph.get_operations():
        if op.type in ("Conv2D", "MatMul") and op.name in upstream and len(op.inputs) == 2 \
                and _reads(op.inputs[1].op, weights[0]):
            linear = op.outputs[0]
            break
    if linear is None:
        raise UnsupportedError(f"no Conv2D or MatMul reading {weights[0]} in the model's graph: the first layer is "
                               f"not a plain conv or dense layer")
    for consumer in linear.consumers():
        if consumer.type in ADDS:
            other = [t for t in consumer.inputs if t is not linear]
            added = [b for b in biases if len(other) == 1 and _reads(other[0].op, b)]
            if added:
                return weights[0], added[0], linear
    uses = "; ".join(f"{b} is used by {', '.join(sorted(_forward_uses(model, b))) or 'nothing'}" for b in biases)
    raise UnsupportedError(f"input invariance needs the first layer's bias to be added to its output "
                           f"({linear.op.name}); {uses} (e.g. a batch-norm offset), so the shift cannot be "
                           f"compensated there")


def shift_compensation(model, shift):
    """(the bias's name, the first layer's linear response to the constant image ``shift``: W m, (H, W, C)
    or (units,)), measured as its linear output on m minus its linear output on 0."""
    weights, bias, linear = first_layer(model)
    shape = (1,) + tuple(model.architecture.input_shape)
    # each image in a call of its own: a batch of one rounds as it always did, so a first layer fed by the
    # input itself (on_zero exactly 0) gets the very compensation, and the report the very bytes, of before
    on_shift, on_zero = (model.session.run(linear, {model.inputs: np.full(shape, value, np.float32)})[0]
                         for value in (shift, 0.0))
    return bias, on_shift - on_zero


def shifted_model(model, shift):
    """(a new GraphModel (``type(model)``) with the same weights whose first-layer bias is b - W m, the bias's
    name).

    Built with a custom getter that returns ``bias - W m`` wherever the graph reads the bias
    (both the plain and the guided-backprop tower), so the variables themselves are unchanged; a build
    with ``with_offset`` (Keras) makes its own.
    """
    bias_name, compensation = shift_compensation(model, shift)
    architecture = model.architecture
    with_offset = getattr(architecture.build, "with_offset", None)
    if with_offset is not None:
        build = with_offset(bias_name, compensation)
    else:
        def build(inputs):
            def getter(getter, name, *args, **kwargs):   # TensorFlow passes these two by keyword
                var = getter(name, *args, **kwargs)
                return var - tf.constant(compensation, dtype=var.dtype.base_dtype) if name == bias_name else var
            with tf1.variable_scope(tf1.get_variable_scope(), custom_getter=getter):
                return architecture.build(inputs)

    shifted = type(model)(dataclasses.replace(architecture, build=build),
                          session_config=getattr(model, "session_config", None))
    values = model.get_weights()
    if with_offset is not None:   # the same weights in the same order; another graph may name them otherwise
        values = {new: values[old] for old, new in zip(architecture.build.variable_names(), build.variable_names())}
    try:
        shifted.set_weights(values)
    except BaseException:
        shifted.close()
        raise
    return shifted, bias_name
