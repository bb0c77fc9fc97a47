"""What the Captum and Zennit wrappers share: the engine's module as the libraries should see it, and the
layouts at the seam.

- :func:`torch_model`: the methods explain :class:`~.model.TorchModel` models only (one-line refusal).
- :func:`logits_module`: the engine's own module (its current weights, randomized or not) with a final
  ``nn.Softmax`` / ``nn.LogSoftmax`` / ``nn.Sigmoid`` swapped for ``nn.Identity`` while the library runs, so that it
  explains the class's logit, as the engine's own methods do; put back afterwards.
- :func:`batches`, :func:`to_nchw`, :func:`to_nhwc`, :func:`targets`: images are (N, H, W, C) at the
  contract and (N, C, H, W) for the module.

Importing this module does not import torch; its functions do.
"""
from contextlib import contextmanager

import numpy as np

from ...methods.base import MethodError, resolve_classes


def torch_model(model, method):
    """``model`` if it is a PyTorch-engine model; else :class:`MethodError` naming ``method``."""
    from .model import TorchModel
    if not isinstance(model, TorchModel):
        raise MethodError(f"{method} explains PyTorch models only; {model.architecture.name} is a "
                          f"{type(model).__name__}")
    return model


def prepare(model, images, classes, batch_size, method):
    """(the TorchModel, images (N, H, W, C) float32, classes (N,) int32, batch size) after the checks."""
    model = torch_model(model, method)
    x = model.check_images(images)
    return model, x, resolve_classes(model, x, classes, batch_size), int(batch_size or model.architecture.batch_size)


@contextmanager
def logits_module(model):
    """The engine's module with a final softmax (or sigmoid) module replaced by ``nn.Identity`` (restored on exit)."""
    import torch

    name = model.probe_result.softmax
    if name is None:
        yield model.module
        return
    parent_name, _, child = name.rpartition(".")
    parent = model.module.get_submodule(parent_name) if parent_name else model.module
    softmax = getattr(parent, child)
    setattr(parent, child, torch.nn.Identity())
    try:
        yield model.module
    finally:
        setattr(parent, child, softmax)


def batches(n, batch_size):
    """Slices of at most ``batch_size`` images."""
    step = max(1, int(batch_size))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def to_nchw(model, x):
    """(n, H, W, C) numpy -> (n, C, H, W) float32 tensor on the model's device."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x, np.float32).transpose(0, 3, 1, 2))).to(model.device)


def to_nhwc(t):
    """(n, C, H, W) tensor -> (n, H, W, C) float32 numpy."""
    return t.detach().cpu().numpy().transpose(0, 2, 3, 1).astype(np.float32)


def targets(model, classes):
    """(n,) class ids -> int64 tensor on the model's device (Captum's ``target``)."""
    import torch
    return torch.as_tensor(np.asarray(classes, dtype=np.int64), device=model.device)
