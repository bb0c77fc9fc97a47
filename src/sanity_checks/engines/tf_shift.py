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

The copy is built with the same ``build``, each call followed by a rewiring of the first layer's bias Add
to read (W x - W m) instead of W x (:func:`subtract_before_bias`): the same function as the bias b - W m,
evaluated in the order that keeps the original's ties (a constant background gives exactly the original's
pre-activations, so max-pooling breaks its tied maxima the same way in both models, and the check
measures the method, not the rounding). A build that offers ``with_offset(bias name, W m)`` (a Keras
model, whose variables do not pass through TensorFlow's getters) makes its own, the same way; its
weights are matched to the original's by ``variable_names()`` (Keras' weights order).
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


#: Ops that apply a layer's weights to its input: the first layer is the first of these on the input's way.
WEIGHTED_OPS = ("Conv2D", "MatMul", "DepthwiseConv2dNative", "BatchMatMulV2", "Einsum", "Conv3D",
                "Conv2DBackpropInput")


def _first_weighted_ops(model):
    """The weighted ops (:data:`WEIGHTED_OPS`) the input reaches first on its way to the logits: the graph is
    walked forward from the input and a walk stops at the first weighted op it meets (padding, rescaling and
    other ops before it are passed through), whatever block the model's stages put that layer in."""
    upstream = _ancestors(model.logits)
    found, seen, stack = [], set(), [model.inputs.op]
    while stack:
        op = stack.pop()
        for consumer in (c for out in op.outputs for c in out.consumers()):
            if consumer.name in seen or consumer.name not in upstream:
                continue
            seen.add(consumer.name)
            if consumer.type in WEIGHTED_OPS:
                found.append(consumer)
            else:
                stack.append(consumer)
    return found


def first_layer(model):
    """(weights name, bias name, linear output tensor) of the conv or dense layer the input meets first."""
    firsts = _first_weighted_ops(model)
    if len(firsts) != 1:
        raise UnsupportedError(f"input invariance needs one first layer (a conv or dense layer fed by the input); "
                               f"the input reaches {len(firsts)} first: "
                               f"{', '.join(op.name for op in firsts[:4]) or 'none'}")
    op = firsts[0]
    variables = {v.op.name: v for v in model.variables}
    weight = next((name for name, v in variables.items() if v.trainable and v.shape.rank in (2, 4)
                   and len(op.inputs) == 2 and _reads(op.inputs[1].op, name)), None)
    if op.type not in ("Conv2D", "MatMul") or weight is None:
        raise UnsupportedError(f"no Conv2D or MatMul reading a weight variable first in the model's graph "
                               f"({op.type} {op.name}): the first layer is not a plain conv or dense layer")
    linear = op.outputs[0]
    # rank-1 trainable variables: the candidates for its bias, and (named in a refusal) those of its block
    rank1 = [name for name, v in variables.items() if v.trainable and v.shape.rank == 1]
    owner = next((b for b in model.architecture.blocks if b.owns(weight)), None)
    biases = [n for n in rank1 if owner is not None and owner.owns(n)]
    for consumer in linear.consumers():
        if consumer.type in ADDS:
            other = [t for t in consumer.inputs if t is not linear]
            added = [b for b in rank1 if len(other) == 1 and _reads(other[0].op, b)]
            if added:
                return weight, added[0], linear
    uses = "; ".join(f"{b} is used by {', '.join(sorted(_forward_uses(model, b))) or 'nothing'}" for b in biases[:4])
    raise UnsupportedError(f"input invariance needs the first layer's bias to be added to its output "
                           f"({linear.op.name}, reading {weight}); "
                           + (f"{uses} (e.g. a batch-norm offset)" if uses else "it has no bias")
                           + ", so the shift cannot be compensated there")


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


def subtract_before_bias(output, offset):
    """``output`` (a first layer's pre-activation, linear + bias) recomputed as (linear - offset) + bias.

    In exact arithmetic this is linear + (bias - offset); in float32 the order matters: where the input is
    constant around a position (a zero background), linear on x + m is bitwise the linear response to m
    measured for ``offset``, so linear - offset is exactly 0 and the layer outputs exactly the original's
    bias there. Ties of the original (max-pooling over a constant region) stay ties, broken the same way,
    instead of being broken by the rounding of linear + (bias - offset). The graph's Add of the bias is
    rewired to read linear - offset, so every tensor downstream (the layer's end points too) follows;
    returns ``output`` itself then, or ``output - offset`` when ``output`` is not such an Add.
    """
    op = output.op
    if op.type in ADDS:
        for index, tensor in enumerate(op.inputs):
            if tensor.op.type in ("Conv2D", "MatMul"):
                with tf1.get_default_graph().as_default():
                    shifted = tensor - tf.constant(offset, dtype=tensor.dtype.base_dtype)
                op._update_input(index, shifted)   # TensorFlow's own graph rewiring (no public equivalent)
                return output
    return output - tf.constant(offset, dtype=output.dtype.base_dtype)


def _compensate_first_layer(ops, weights, bias, compensation):
    """In the graph ops ``ops`` (one call of the build), rewire the first layer's bias Add to read
    (linear - W m) (:func:`subtract_before_bias`); False when the layer is not found among them."""
    for op in ops:
        if op.type in ("Conv2D", "MatMul") and len(op.inputs) == 2 and _reads(op.inputs[1].op, weights):
            linear = op.outputs[0]
            for consumer in linear.consumers():
                other = [t for t in consumer.inputs if t is not linear]
                if consumer.type in ADDS and len(other) == 1 and _reads(other[0].op, bias):
                    subtract_before_bias(consumer.outputs[0], compensation)
                    return True
    return False


def shifted_model(model, shift):
    """(a new GraphModel (``type(model)``) with the same weights whose first layer computes
    (W x - W m) + b, i.e. has the bias b - W m, the bias's name).

    Each call of the build (the plain and the guided-backprop tower) is followed by the rewiring of
    :func:`subtract_before_bias`, so the variables themselves are unchanged; a build with ``with_offset``
    (Keras) makes its own.
    """
    weights, bias_name, _ = first_layer(model)
    bias_name, compensation = shift_compensation(model, shift)
    architecture = model.architecture
    with_offset = getattr(architecture.build, "with_offset", None)
    if with_offset is not None:
        build = with_offset(bias_name, compensation)
    else:
        def build(inputs):
            graph = tf1.get_default_graph()
            known = {op.name for op in graph.get_operations()}
            out = architecture.build(inputs)
            new_ops = [op for op in graph.get_operations() if op.name not in known]
            if not _compensate_first_layer(new_ops, weights, bias_name, compensation):
                raise UnsupportedError(f"input invariance: no Add of {bias_name} to the output of the layer "
                                       f"reading {weights} in the rebuilt graph")
            return out

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
