"""Seeded re-draws of one parameter of a PyTorch module from its module's own initializer.

Each draw runs the owning module's ``reset_parameters()`` (``nn.MultiheadAttention``: its
``_reset_parameters()``) on a CPU copy of that module, inside ``torch.random.fork_rng`` with
``torch.manual_seed(seed)``: the draw is keyed by the seed the randomizer derives from (run seed,
parameter name), and the user's global generator is left as it was. A bare ``nn.Parameter`` that no
module's initializer covers (a ViT's class token or position embedding) gets a normal draw with the
trained tensor's own standard deviation, from a generator of that seed.
"""
import copy

import numpy as np


def _own(owner):
    """{local name: tensor} of the parameters and float buffers ``owner`` holds itself."""
    own = dict(owner.named_parameters(recurse=False))
    own.update({b: t for b, t in owner.named_buffers(recurse=False) if t.is_floating_point()})
    return own


def redraw(root, name, seed, trained):
    """A fresh draw of parameter (or float buffer) ``name`` of ``root``, as a numpy array like ``trained``."""
    import torch

    owner_name, _, local = name.rpartition(".")
    owner = root.get_submodule(owner_name) if owner_name else root
    reset = getattr(owner, "reset_parameters", None) or getattr(owner, "_reset_parameters", None)
    if reset is not None:
        fresh = copy.deepcopy(owner).to("cpu")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            getattr(fresh, reset.__name__)()
        value = _own(fresh).get(local)
        if value is not None:
            return value.detach().numpy().astype(trained.dtype, copy=True)
    generator = torch.Generator().manual_seed(int(seed))
    std = float(np.std(trained)) if trained.size > 1 else 1.0
    draw = torch.randn(tuple(trained.shape), generator=generator, dtype=torch.float64) * std
    return draw.numpy().astype(trained.dtype)
