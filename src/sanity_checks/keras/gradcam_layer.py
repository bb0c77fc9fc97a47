"""GradCAM's default layer for a Keras model: the last layer (or Keras 3 operation, e.g. ConvNeXt's
``inputs + x`` block output) whose output is 4-D with a spatial extent above 1x1, on the path to the
logits, from the records of the call that built the graph. A (N, 1, 1, K) output (MobileNetV3's head
convs after its global pooling) has no map to show."""


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


def _spatial(tensor):
    """Whether ``tensor`` is (N, h, w, K) with h * w > 1 (unknown sizes count as spatial)."""
    if tensor.shape.rank != 4:
        return False
    h, w = tensor.shape.as_list()[1:3]
    return h is None or w is None or h * w > 1


def default_gradcam_layer(call):
    """The last recorded output on the path to the logits that is (N, h, w, K) with h * w > 1, or None."""
    upstream = _ancestors(call["logits"])
    for path, (out, given) in reversed(list(call["records"].items())):
        passed_through = _passes_through(out, given)   # e.g. Dropout at inference
        if _spatial(out) and out.op.name in upstream and not passed_through:
            return path
    return None
