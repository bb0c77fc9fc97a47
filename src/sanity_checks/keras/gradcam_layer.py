"""GradCAM's default layer for a Keras model: the last layer with a 4-D output on the path to the
logits, from the records of the call that built the graph."""


def _ancestors(tensor):
    """Names of every op ``tensor`` depends on."""
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return seen


def _passes_through(out, given):
    """Whether a layer's output is its input unchanged (the same tensor, or it through Identity ops)."""
    name = getattr(given, "name", None)
    tensor = out
    while True:
        if tensor.name == name:
            return True
        if tensor.op.type != "Identity" or not tensor.op.inputs:
            return False
        tensor = tensor.op.inputs[0]


def default_gradcam_layer(call):
    """The last recorded rank-4 layer output on the path to the logits, or None."""
    upstream = _ancestors(call["logits"])
    for path, (out, given) in reversed(list(call["records"].items())):
        passed_through = _passes_through(out, given)   # e.g. Dropout at inference
        if out.shape.rank == 4 and out.op.name in upstream and not passed_through:
            return path
    return None
