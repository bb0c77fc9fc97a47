"""Zennit's LRP composites on PyTorch-engine models: LRP-ε, LRP-ε+ (z+ in convolutions) and LRP-εα2β1.

Each runs Zennit's ``Gradient`` attributor with the composite on the engine's module (its current
weights; a final softmax looked through, see ``library_explain``), images transposed to (N, C, H, W)
and the relevance back to (N, H, W, C), ``batch_size`` images per pass. The relevance starts at the
explained class: a one-hot output attribution, as Zennit's documentation calls it (Zennit's own default,
the whole output vector, explains every class at once); ``attr_output="logit"`` starts it at the class's
logit instead (one-hot times the output).

Defaults are Zennit's (``epsilon`` 1e-6, ``stabilizer`` 1e-6), except the canonizer: Zennit applies none
unless asked; ours is ``SequentialMergeBatchNorm`` (batch norm merged into the convolution or linear layer
just before it, as LRP on batch norm requires; ``canonizer=None`` turns it off). Pinned to zennit 0.5.1:
its 1.0.0 needs Python >= 3.11.11, and the composites, rules, canonizer and attributor used here are the
same in both.

Importing this module does not import torch or zennit; calling a method does.
"""
import numpy as np

from ...methods.base import MethodError, finish
from .library_explain import batches, logits_module, prepare, to_nchw, to_nhwc

LIBRARY = "zennit==0.5.1"
CANONIZERS = ("sequential_merge_batch_norm", None)
ATTR_OUTPUTS = ("one_hot", "logit")


def import_zennit():
    """zennit (its package imports torchvision: through the engine's loader, which copes with a torchvision
    whose compiled operators do not load beside this torch)."""
    from .loading import import_torchvision
    import_torchvision()
    import zennit
    return zennit


def _composite(kind, epsilon, stabilizer, canonizer):
    """Zennit's composite ``kind`` ("epsilon", "epsilon_plus", "epsilon_alpha2_beta1")."""
    import torch
    import_zennit()
    from zennit import canonizers, composites, rules, types

    if canonizer not in CANONIZERS:
        raise MethodError(f"canonizer must be one of {', '.join(map(repr, CANONIZERS))}, got {canonizer!r}")
    merged = [canonizers.SequentialMergeBatchNorm()] if canonizer else None
    epsilon, stabilizer = float(epsilon), float(stabilizer)
    if kind == "epsilon_plus":
        return composites.EpsilonPlus(epsilon=epsilon, stabilizer=stabilizer, canonizers=merged)
    if kind == "epsilon_alpha2_beta1":
        return composites.EpsilonAlpha2Beta1(epsilon=epsilon, stabilizer=stabilizer, canonizers=merged)
    # LRP-ε: Zennit ships no composite of it; its built-in ones' shared base map plus ε everywhere
    layer_map = composites.layer_map_base(stabilizer) + [(types.Convolution, rules.Epsilon(epsilon=epsilon)),
                                                         (torch.nn.Linear, rules.Epsilon(epsilon=epsilon))]
    return composites.LayerMapComposite(layer_map=layer_map, canonizers=merged)


def lrp(model, images, classes, kind, *, epsilon=1e-6, stabilizer=1e-6, canonizer="sequential_merge_batch_norm",
        attr_output="one_hot", batch_size=None):
    """Zennit relevance of ``classes`` under composite ``kind``: (N, H, W, C) float32."""
    import torch
    import_zennit()
    from zennit.attribution import Gradient

    name = f"zennit_{kind}"
    if attr_output not in ATTR_OUTPUTS:
        raise MethodError(f"attr_output must be one of {', '.join(ATTR_OUTPUTS)}, got {attr_output!r}")
    model, x, classes, size = prepare(model, images, classes, batch_size, name)
    composite = _composite(kind, epsilon, stabilizer, canonizer)
    out = np.empty(x.shape, np.float32)
    with logits_module(model) as net, Gradient(model=net, composite=composite) as attributor:
        for part in batches(len(x), size):
            one_hot = torch.eye(model.architecture.num_classes, device=model.device)[
                torch.as_tensor(classes[part].astype(np.int64), device=model.device)]
            start = one_hot if attr_output == "one_hot" else (lambda output, one_hot=one_hot: output * one_hot)
            _, relevance = attributor(to_nchw(model, x[part]), start)
            out[part] = to_nhwc(relevance)
    return finish(out, name)


def zennit_epsilon(model, images, classes=None, *, batch_size=None, **settings):
    """LRP-ε: Zennit's ``Epsilon`` rule in every convolution and linear layer (``epsilon`` 1e-6), its base map
    elsewhere (activations pass, sum and average pooling normalized, batch norm passed). See the module."""
    return lrp(model, images, classes, "epsilon", batch_size=batch_size, **settings)


def zennit_epsilon_plus(model, images, classes=None, *, batch_size=None, **settings):
    """Zennit's ``EpsilonPlus``: z+ in convolutions, ε (1e-6) in linear layers (the benchmark's LRP-z+)."""
    return lrp(model, images, classes, "epsilon_plus", batch_size=batch_size, **settings)


def zennit_epsilon_alpha2_beta1(model, images, classes=None, *, batch_size=None, **settings):
    """Zennit's ``EpsilonAlpha2Beta1``: α2β1 in convolutions, ε (1e-6) in linear layers."""
    return lrp(model, images, classes, "epsilon_alpha2_beta1", batch_size=batch_size, **settings)


_DEFAULTS = {"epsilon": 1e-6, "stabilizer": 1e-6, "canonizer": "sequential_merge_batch_norm", "attr_output": "one_hot"}

#: The hand-over format of built-in library methods (see ``methods.library_methods``).
LIBRARY_METHODS = [
    {"name": name, "label": label, "function": function, "defaults": dict(_DEFAULTS), "needs": ("pytorch",),
     "library": LIBRARY, "noisy": False}
    for name, label, function in (("zennit_epsilon", "LRP-ε (Zennit)", zennit_epsilon),
                                  ("zennit_epsilon_plus", "LRP-ε+ (Zennit)", zennit_epsilon_plus),
                                  ("zennit_epsilon_alpha2_beta1", "LRP-εα2β1 (Zennit)", zennit_epsilon_alpha2_beta1))
]
