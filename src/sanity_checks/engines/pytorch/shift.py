"""Input invariance on the PyTorch engine: a copy of a model whose first layer compensates a constant
input shift m exactly (``TorchModel.shifted_input_model``).

The first layer must be a ``Conv2d`` or ``Linear`` with a bias that reads the model's input (directly, or
through a view such as ``Flatten``). Its linear response to the constant image m, W m, is computed with
every call (for a zero-padded convolution it is not constant near the borders) and subtracted from the
layer's linear output before its bias is added, by a forward hook on the copy: on x + m the copy computes
what the model computes on x, and exactly so where the input is constant (the ties of max-pooling stay).
Other first layers raise :class:`~sanity_checks.errors.UnsupportedError` with the reason.
"""

from ...errors import UnsupportedError


def first_layer(model):
    """The name of the Conv2d / Linear with a bias that reads the model's input."""
    kinds = {name: type(sub).__name__ for name, sub in model.module.named_modules()}
    readers = [n for n in model.probe_result.order if n in model.probe_result.reads_input]
    layers = [n for n in readers if kinds[n] in ("Conv2d", "Linear")]
    if not layers:
        leaves = [n for n in readers if n and not list(model.module.get_submodule(n).children())]
        where = (f"the input goes to {leaves[0]} ({kinds[leaves[0]]})" if leaves else
                 "the model's forward changes the input in its own code before any layer")
        raise UnsupportedError(f"input invariance needs a first layer that is a Conv2d or Linear fed by the input; "
                               f"{where}, so the shift cannot be compensated there")
    name = layers[0]
    if model.module.get_submodule(name).bias is None:
        raise UnsupportedError(f"input invariance needs the first layer's bias; {name} has none (bias=False), so "
                               f"the shift cannot be compensated there")
    return name


def shifted_model(model, shift):
    """(a copy of ``model`` whose first layer computes (W (x + m) - W m) + b, that layer's bias name)."""
    import torch
    import torch.nn.functional as F

    name = first_layer(model)
    layer = model.module.get_submodule(name)
    conv = isinstance(layer, torch.nn.Conv2d)
    shape = (-1, 1, 1) if conv else (-1,)

    def linear(inputs, layer):
        if conv:
            return F.conv2d(inputs, layer.weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        return F.linear(inputs, layer.weight)

    def compensated(mod, inputs, output):
        # (W (x + m) - W m) + b, not (W (x + m) + b) - W m, with W m computed on a constant input of the very
        # shape and memory layout of this call (the layout picks the convolution's algorithm, hence its
        # rounding): on a constant background W (x + m) is then bitwise W m, the layer gives exactly the
        # original's output there, and max-pooling breaks its tied maxima as the original does
        with torch.no_grad():
            response = linear(torch.full_like(inputs[0], float(shift)), mod)
        return (linear(inputs[0], mod) - response) + mod.bias.reshape(shape)

    shifted = type(model)(model.module, model.architecture.input_shape, device=model.device,
                          metadata=model.metadata, name=model.architecture.name, quiet=True)
    shifted.module.get_submodule(name).register_forward_hook(compensated)
    return shifted, f"{name}.bias"
