"""Input invariance on the PyTorch engine: a copy of a model whose first layer compensates a constant
input shift m exactly (``TorchModel.shifted_input_model``).

The first layer must be a ``Conv2d`` or ``Linear`` with a bias that reads the model's input (directly, or
through a view such as ``Flatten``). Its linear response to the constant image m, W m, is computed once
(for a zero-padded convolution it is not constant near the borders: a (C, H, W) map) and subtracted from
the layer's output by a forward hook on the copy: on x + m the copy computes exactly what the model
computes on x. Other first layers raise :class:`~sanity_checks.errors.UnsupportedError` with the reason.
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
    """(a copy of ``model`` whose first layer subtracts W m from its output, that layer's bias name)."""
    import torch
    import torch.nn.functional as F

    name = first_layer(model)
    layer = model.module.get_submodule(name)
    h, w, c = model.architecture.input_shape
    constant = torch.full((1, c, h, w), float(shift), device=model.device)
    with torch.no_grad():
        if isinstance(layer, torch.nn.Conv2d):
            response = F.conv2d(constant, layer.weight, None, layer.stride, layer.padding, layer.dilation,
                                layer.groups)[0]
        else:
            response = F.linear(constant.reshape(1, -1)[:, :layer.in_features], layer.weight)[0]
    shifted = type(model)(model.module, model.architecture.input_shape, device=model.device,
                          metadata=model.metadata, name=model.architecture.name, quiet=True)
    shifted.module.get_submodule(name).register_forward_hook(lambda mod, inputs, output: output - response)
    return shifted, f"{name}.bias"
