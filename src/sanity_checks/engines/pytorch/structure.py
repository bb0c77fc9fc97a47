"""What one forward pass shows of a PyTorch module: the order its modules run in, their output shapes,
which module reads the input, a final softmax or sigmoid, and from these the randomization blocks (top first),
GradCAM's default layer and where guided backprop cannot reach.

Registration order (``named_modules()``) is not the order of the forward pass (a residual's skip, a
head defined before the body), so everything here comes from hooks on one probe pass.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from ...contract import Block

#: Module classes whose backward pass guided backprop overrides (only positive gradients through
#: active units), as the TensorFlow engine's Relu, Relu6 and LeakyRelu.
GUIDED_MODULES = ("ReLU", "ReLU6", "LeakyReLU")
#: Normalization layers: a block of their own only where no convolution or dense layer feeds them.
NORM_MODULES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm2d")
WEIGHTED_MODULES = ("Conv1d", "Conv2d", "Conv3d", "Linear", "ConvTranspose2d", "Bilinear")
#: Functional calls that guided backprop hooks on modules cannot see.
FUNCTIONAL_RELUS = ("relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "hardtanh")


class GuidedCoverageWarning(UserWarning):
    """ReLUs guided backprop cannot reach (functional calls): their ordinary gradient is used."""


@dataclass
class Probe:
    """One forward pass, seen through hooks."""

    order: list = field(default_factory=list)          # (time, module name) of every finish, first call each
    started: dict = field(default_factory=dict)       # module name -> time it first started
    finished: dict = field(default_factory=dict)      # module name -> time it first finished
    shapes: dict = field(default_factory=dict)        # module name -> its output's shape (channels first)
    reads_input: set = field(default_factory=set)     # modules whose first input is the model's input
    output_shape: tuple = ()
    softmax: str = None          # the module whose output is the model's output, if a softmax or sigmoid
    activation: str = None       # that module's class


#: Final modules looked through: the explained score is their input, the logit (as for Keras models).
LOGIT_ACTIVATIONS = ("Softmax", "LogSoftmax", "Sigmoid")


def probe(module, input_shape, device, seed=0):
    """Run ``module`` once on a seeded random batch of two (N, C, H, W) images, recording everything."""
    import torch

    h, w, c = input_shape
    x = torch.from_numpy(np.random.default_rng(seed).random((2, c, h, w), dtype=np.float32)).to(device)
    seen = Probe()
    clock = iter(range(10 ** 9))
    handles = []
    sigmoid_outputs = {}

    def before(name):
        def hook(mod, inputs):
            seen.started.setdefault(name, next(clock))
            if inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].data_ptr() == x.data_ptr() \
                    and inputs[0].numel() == x.numel():
                seen.reads_input.add(name)
        return hook

    def after(name):
        def hook(mod, inputs, output):
            if name not in seen.finished:
                seen.finished[name] = next(clock)
                seen.order.append(name)
            if isinstance(output, torch.Tensor):
                seen.shapes.setdefault(name, tuple(output.shape[1:]))
                if type(mod).__name__ == "Sigmoid":
                    sigmoid_outputs[name] = output
        return hook

    for name, sub in module.named_modules():
        handles.append(sub.register_forward_pre_hook(before(name)))
        handles.append(sub.register_forward_hook(after(name)))
    try:
        with torch.no_grad():
            out = module(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model returns a {type(out).__name__}, not a tensor")
    seen.output_shape = tuple(out.shape)
    leaves = [n for n in seen.order if n and not list(dict(module.named_modules())[n].children())]
    kind = type(dict(module.named_modules())[leaves[-1]]).__name__ if leaves else None
    # a Sigmoid module is also a gate inside networks (squeeze-excitation): looked through only when its
    # output is the model's output itself
    if kind in LOGIT_ACTIVATIONS and (kind != "Sigmoid" or sigmoid_outputs.get(leaves[-1]) is out):
        seen.softmax, seen.activation = leaves[-1], kind
    return seen


def _owners(module):
    """{module name: [its own parameter and float buffer names]} of every module owning any."""
    out = {}
    for name, sub in module.named_modules():
        prefix = f"{name}." if name else ""
        own = [prefix + p for p, _ in sub.named_parameters(recurse=False)]
        own += [prefix + b for b, t in sub.named_buffers(recurse=False) if t.is_floating_point()]
        if own:
            out[name] = own
    return out


def blocks(module, seen):
    """Blocks, top (output) first: one per module that owns parameters, in the order the forward pass
    uses them (a leaf when it finishes; a module holding parameters of its own beside its children, e.g.
    multi-head attention's input projection or a ViT's class token, when it starts). A normalization
    layer is folded into the convolution or dense layer that feeds it, and a module the forward pass never
    called (multi-head attention's ``out_proj``, used through its weights) into the nearest ancestor that
    ran, so that every parameter is in some block."""
    kinds = {name: type(sub).__name__ for name, sub in module.named_modules()}
    has_children = {name: bool(list(sub.children())) for name, sub in module.named_modules()}
    owners = _owners(module)

    def ran_at(name):
        if name not in seen.started:
            return None
        return seen.started[name] if has_children[name] else seen.finished[name]

    def ancestor_that_ran(name):
        while name:
            name = name.rpartition(".")[0]
            if ran_at(name) is not None:
                return name
        return ""

    home, when = {}, {}
    for name in owners:
        if ran_at(name) is None:
            home[name] = ancestor_that_ran(name)
            when[name] = (ran_at(home[name]) or 0, 1)
        else:
            when[name] = (ran_at(name), 0)
    groups = {}   # block name -> [parameter names], in forward order
    for name in sorted(owners, key=lambda n: (when[n], n)):
        previous = list(groups)[-1] if groups else None
        if name in home and home[name] in groups:
            groups[home[name]].extend(owners[name])
        elif kinds[name] in NORM_MODULES and previous is not None and kinds.get(previous) in WEIGHTED_MODULES:
            groups[previous].extend(owners[name])
        else:
            groups[name] = list(owners[name])
    return tuple(Block(name or "(model)", variables=tuple(params)) for name, params in reversed(groups.items()))


def default_gradcam_layer(seen, input_hw=None):
    """The module that finishes last with a feature map of more than 1x1 (e.g. ResNet's ``layer4``).

    A feature map is a 4-D output (N, C, h, w) whose h and w shrink the input's (H, W) alike (h W = w H, up
    to a stride's rounding): an attention block's (N, heads, tokens, head_dim) is 4-D too, and is no map
    (a ViT's ``attn.k_norm``).
    """
    def is_map(shape):
        if len(shape) != 3 or shape[1] * shape[2] <= 1:
            return False
        if input_hw is None:
            return True
        (h, w), (big_h, big_w) = shape[1:], input_hw
        return abs(h * big_w - w * big_h) <= max(big_h, big_w)

    spatial = [n for n in seen.order if n and is_map(seen.shapes.get(n, ()))]
    return spatial[-1] if spatial else None


def guided_coverage(module):
    """(the ReLU-family modules, the functional ReLU calls hooks cannot see) of ``module``.

    The calls are found by tracing it with ``torch.fx``; a module fx cannot trace gives (modules, None).
    """
    import torch

    modules = [name for name, sub in module.named_modules() if type(sub).__name__ in GUIDED_MODULES]
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception:   # dynamic control flow etc.: fx cannot say
        return modules, None
    functional = []
    for node in graph.nodes:
        target = getattr(node.target, "__name__", node.target)
        if node.op in ("call_function", "call_method") and target in FUNCTIONAL_RELUS:
            functional.append(node.name)
    return modules, functional


def warn_guided_coverage(name, modules, functional):
    """Warn where guided backprop cannot reach a ReLU; returns whether Guided BackProp equals Gradient
    (no ReLU-family module for its hooks)."""
    equal = not modules
    if functional:
        warnings.warn(f"{name}: {len(functional)} ReLU(s) are functional calls guided backprop cannot hook "
                      f"({', '.join(functional[:6])}{', ...' if len(functional) > 6 else ''}); their ordinary "
                      f"gradient is used" + ("; with no ReLU module at all, Guided BackProp equals Gradient"
                                             if equal else ""), GuidedCoverageWarning, stacklevel=3)
    elif equal:
        warnings.warn(f"{name}: no ReLU, ReLU6 or LeakyReLU module: Guided BackProp equals Gradient",
                      GuidedCoverageWarning, stacklevel=3)
    return equal
