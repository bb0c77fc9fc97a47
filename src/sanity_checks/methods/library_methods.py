"""The built-in methods other libraries made, in one list for the registry: PAIR 0.2.1's XRAI, Guided IG
and Blur IG on every engine; Captum's attributions and Zennit's LRP composites on PyTorch models.

Each entry is a dict: ``name``, ``label`` (figures), ``function(model, images, classes, *, batch_size=None,
**settings)`` -> (N, H, W, C) float32 masks (``noisy`` ones also take ``seed`` and ``image_ids``, as
``smoothing``'s do), ``defaults`` (the library's own, each function's docstring says where not),
``needs`` (from "conv_layer", "pytorch") and ``library`` (the pip requirement; None: PAIR, which the
toolkit always installs). Importing this module imports neither torch, Captum nor Zennit: a missing
library leaves its methods listed, and the registry refuses them at use with the install line.
"""
from ..engines.pytorch.captum_methods import LIBRARY_METHODS as CAPTUM
from ..engines.pytorch.captum_noisy import LIBRARY_METHODS as CAPTUM_NOISY
from ..engines.pytorch.zennit_methods import LIBRARY_METHODS as ZENNIT
from .pair_methods import LIBRARY_METHODS as PAIR

LIBRARY_METHODS = PAIR + CAPTUM + CAPTUM_NOISY + ZENNIT
