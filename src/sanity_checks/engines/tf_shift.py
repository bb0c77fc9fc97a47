"""Input invariance on the TensorFlow engine: a copy of a :class:`~sanity_checks.model.GraphModel` whose
first layer compensates a constant input shift exactly (``GraphModel.shifted_input_model``).

The shifted model computes exactly the original's logits on x + m: its first layer (a convolution
or a dense layer with a bias, fed by the input or by an affine preprocessing of it, e.g. Keras'
Rescaling or Normalization) computes (W (x + m) - W m) + b, where W m is the layer's linear response to
the constant image m (its linear output on m minus its linear output on 0). For a convolution with zero
padding W m is not constant near the borders: it is computed per position, exact everywhere. The
bias is found in the graph as what is added to the layer's Conv2D or MatMul output: a BiasAdd (our
networks, tf-keras) or an Add of the bias reshaped to (1, 1, 1, C) (Keras 3). Other first layers (e.g.
Inception's conv + batch norm without bias) raise :class:`~sanity_checks.errors.UnsupportedError` with
the reason. The check's logit comparison stays the guard that the compensation is exact.

W m is computed inside the graph, with every call, at the call's own batch shape
(:func:`constant_response`: the ops from the input to the layer's linear output copied onto a constant
batch shaped like the input). TensorFlow rounds batches of different shapes differently; computed in
the same call and shape as W (x + m), W m is bitwise the layer's linear output wherever the input is
constant around a position (a zero background), so there (W (x + m) - W m) is exactly 0 and the layer
outputs exactly the original's bias: max-pooling breaks its tied maxima as the original does, in a
block of 16 images as in a call of one, and the check measures the method, not the rounding.

The graph is changed through public calls only: the layers above the first layer's bias Add are copied
with ``tf.compat.v1.import_graph_def(input_map=...)`` (:func:`copy_between`) to read the compensated
output, and the copy's logits and end points are the shifted model's (the original ops stay in the graph,
never run). A build that offers ``with_offset(bias name, shift)`` (a Keras model, whose layer outputs the
builder records) compensates inside the first layer's own call instead (:func:`compensate`); its weights
are matched to the original's by ``variable_names()`` (Keras' weights order).
"""
import dataclasses

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


def copy_between(replaced, targets, name):
    """The tensors ``targets`` recomputed from the tensors of ``replaced`` ({tensor: its replacement}): the
    ops on a path from a replaced tensor to a target are copied (``tf1.import_graph_def`` with ``input_map``,
    in the default graph, under ``name``), reading the replacements, and every other tensor they read (the
    weights, the input) as it is; a target that is itself replaced gives its replacement, one that depends on
    no replaced tensor itself. Ops are taken in the graph's creation order (forward graphs without loops); a
    copied op's control dependencies on ops outside the copy and its colocation hints are dropped."""
    graph = tf1.get_default_graph()
    replaced = {t.name: value for t, value in replaced.items()}
    wanted = set()
    for target in targets:
        wanted |= _ancestors(target)
    copied, moved = [], set()
    for op in graph.get_operations():
        if op.name in wanted and any(t.name in replaced or t.op.name in moved for t in op.inputs):
            copied.append(op)
            moved.add(op.name)
    out = [replaced.get(t.name, t) for t in targets]
    returned = [i for i, t in enumerate(targets) if t.op.name in moved]
    if not returned:
        return out
    sub, input_map = tf1.GraphDef(), {}
    whole = graph.as_graph_def()
    sub.versions.CopyFrom(whole.versions)
    sub.library.CopyFrom(whole.library)
    for op in copied:
        node = sub.node.add()
        node.CopyFrom(op.node_def)
        del node.input[len(op.inputs):]              # control inputs come last
        node.input.extend(f"^{c.name}" for c in op.control_inputs if c.name in moved)
        if "_class" in node.attr:
            del node.attr["_class"]
        for t in op.inputs:
            if t.op.name not in moved:
                input_map[t.name] = replaced.get(t.name, t)
    copies = tf1.import_graph_def(sub, input_map=input_map, return_elements=[targets[i].name for i in returned],
                                  name=name)
    for i, copy in zip(returned, copies):
        out[i] = copy
    return out


def constant_response(inputs, linear, shift):
    """W m: ``linear`` (a first layer's linear output, computed from ``inputs``) on the constant batch m minus
    on the constant batch 0, both shaped like ``inputs`` in this very call (the ops from ``inputs`` to
    ``linear`` copied by :func:`copy_between`), so rounded as ``linear`` itself is. No gradient flows
    through it (it depends on the input's shape alone)."""
    with tf1.name_scope("input_shift"):
        on = []
        for value, name in ((shift, "on_shift"), (0.0, "on_zero")):
            constant = tf.fill(tf.shape(inputs), tf.constant(value, inputs.dtype.base_dtype))
            response = copy_between({inputs: constant}, [linear], name)[0]
            if response is linear:
                raise UnsupportedError(f"input invariance: the first layer's output {linear.op.name} does not "
                                       f"depend on the model's input")
            on.append(response)
        return tf.stop_gradient(on[0] - on[1])


def subtract_before_bias(output, response):
    """``output`` (a first layer's pre-activation, linear + bias) recomputed as a new tensor (linear - response)
    + bias, or ``output - response`` when ``output`` is not such an Add.

    In exact arithmetic this is linear + (bias - response); in float32 the order matters: where the input is
    constant around a position (a zero background), linear on x + m is bitwise the linear response to m
    (:func:`constant_response`), so linear - response is exactly 0 and the layer outputs exactly the
    original's bias there. Ties of the original (max-pooling over a constant region) stay ties, broken the
    same way, instead of being broken by the rounding of linear + (bias - response). One addition rounds
    the same whatever op makes it (Add, AddV2, BiasAdd).
    """
    op = output.op
    if op.type in ADDS:
        for index, tensor in enumerate(op.inputs):
            if tensor.op.type in ("Conv2D", "MatMul"):
                bias = op.inputs[1 - index]
                moved = tensor - response
                if op.type == "BiasAdd":
                    data_format = op.get_attr("data_format")
                    return tf.nn.bias_add(moved, bias, data_format=data_format.decode()
                                          if isinstance(data_format, bytes) else data_format)
                return moved + bias if index == 0 else bias + moved
    return output - response


def _first_layer_add(ops, weights, bias):
    """(the bias Add's output, the linear output) of the layer reading ``weights`` among the graph ops ``ops``
    (one call of the build), or None."""
    for op in ops:
        if op.type in ("Conv2D", "MatMul") and len(op.inputs) == 2 and _reads(op.inputs[1].op, weights):
            linear = op.outputs[0]
            for consumer in linear.consumers():
                other = [t for t in consumer.inputs if t is not linear]
                if consumer.type in ADDS and len(other) == 1 and _reads(other[0].op, bias):
                    return consumer.outputs[0], linear
    return None


def compensate(ops, inputs, weights, bias, shift, outputs):
    """``outputs`` (tensors of one call of a build on ``inputs``) recomputed with the first layer (among the new
    graph ops ``ops``: the layer reading the variables ``weights`` and ``bias``) computing (W (x + m) - W m) + b,
    W m measured in the same call (:func:`constant_response`, :func:`subtract_before_bias`, :func:`copy_between`)."""
    found = _first_layer_add(ops, weights, bias)
    if found is None:
        raise UnsupportedError(f"input invariance: no Add of {bias} to the output of the layer reading {weights} "
                               f"in the rebuilt graph")
    output, linear = found
    compensated = subtract_before_bias(output, constant_response(inputs, linear, shift))
    return copy_between({output: compensated}, outputs, "input_shift")


def shifted_model(model, shift):
    """(a new GraphModel (``type(model)``) with the same weights whose first layer computes
    (W (x + m) - W m) + b with W m computed in every call (module docstring), the bias's name).

    Each call of the build (the plain and the guided-backprop tower) is followed by :func:`compensate`, so
    the variables themselves are unchanged; a build with ``with_offset`` (Keras) compensates in its layer's call.
    """
    weights, bias_name, _ = first_layer(model)
    shift = float(shift)
    architecture = model.architecture
    with_offset = getattr(architecture.build, "with_offset", None)
    if with_offset is not None:
        build = with_offset(bias_name, shift)
    else:
        def build(inputs):
            graph = tf1.get_default_graph()
            known = {op.name for op in graph.get_operations()}
            logits, end_points = architecture.build(inputs)
            new_ops = [op for op in graph.get_operations() if op.name not in known]
            names = list(end_points)
            out = compensate(new_ops, inputs, weights, bias_name, shift, [logits] + [end_points[n] for n in names])
            return out[0], dict(zip(names, out[1:]))

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
