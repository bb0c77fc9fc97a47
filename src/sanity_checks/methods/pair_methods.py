"""PAIR ``saliency`` 0.2.1's newer methods on every engine: XRAI, Guided IG and Blur IG.

XRAI and Blur IG run PAIR's own classes (``saliency.core``) image by image; Guided IG is PAIR's algorithm
step for step (its class no longer runs on numpy 2, see ``guided_ig``). All are fed by the model
contract (``call_model_function``, input gradients), so they run on the TensorFlow, numpy and PyTorch
engines alike, explaining the given class's logit. Defaults are PAIR's own (its ``GetMask`` keyword
defaults and ``XRAIParameters``); settings keep PAIR's names. XRAI's map is (H, W): it is copied into
every channel, as our GradCAM is.

Batching: XRAI's and Blur IG's path steps go to the model ``batch_size`` at a time (PAIR's
``batch_size``; ours defaults to the architecture's; PAIR's own default is 1). The masks are PAIR's for
the same batch size; between batch sizes they differ by the engine's rounding of different batch shapes,
which Blur IG's sum of large, cancelling terms amplifies (our TensorFlow CNN: 1.6e-3 of the mask's maximum
between 100 steps per call and 1; the numpy engine: none; doc/RESULTS.md section 18). One exception: PAIR's Blur IG weights a whole batch of steps by the step size of the
batch's last step, wrong when the steps are uneven (``sqrt=True``); there we pass batch size 1, whose
weighting is right. Guided IG takes one gradient per image and step (see ``guided_ig``).
"""
import hashlib
import math
from collections import OrderedDict

import numpy as np

from .base import MethodError, finish, resolve_classes, tile_channels


def _baseline(value, x, what):
    """None stays None; a number or an array broadcastable to one image becomes an array of its shape."""
    if value is None:
        return None
    try:
        return np.broadcast_to(np.asarray(value, dtype=x.dtype), x.shape).copy()
    except ValueError:
        raise MethodError(f"{what} of shape {np.shape(value)} does not fit images of shape {x.shape}") from None


def _per_image(model, images, classes, batch_size, name, mask_fn):
    """``mask_fn(core, x_i, call_model_args, batch_size)`` for each image -> finished (N, H, W, C) masks."""
    import saliency.core as core

    x = model.check_images(images)
    classes = resolve_classes(model, x, classes, batch_size)
    batch_size = int(batch_size or model.architecture.batch_size)
    call = model.call_model_function()
    masks = np.empty(x.shape, np.float32)
    for i in range(len(x)):
        mask = np.asarray(mask_fn(core, call, x[i], {"class_idx": int(classes[i])}, batch_size))
        masks[i] = tile_channels(mask[None], x.shape[-1])[0] if mask.ndim == 2 else mask
    return finish(masks, name)


#: XRAI's segments are a function of the image alone and take most of its time (PAIR segments a 224x224
#: resize of every image, at six scales): kept for the model states that explain the same images next, up to
#: this many bytes of masks per process, least recently used dropped first.
SEGMENT_CACHE_BYTES = 256 * 2 ** 20
_segment_cache = OrderedDict()


def xrai_segments(x):
    """PAIR's Felzenszwalb segments of one (H, W, C) image (a list of (H, W) bool masks), from the cache."""
    from saliency.core.xrai import _get_segments_felzenszwalb

    key = hashlib.sha1(str((x.shape, x.dtype.str)).encode() + np.ascontiguousarray(x).tobytes()).digest()
    if key in _segment_cache:
        _segment_cache.move_to_end(key)
        return _segment_cache[key]
    segments = _get_segments_felzenszwalb(x)
    _segment_cache[key] = segments
    while sum(m.nbytes for masks in _segment_cache.values() for m in masks) > SEGMENT_CACHE_BYTES \
            and len(_segment_cache) > 1:
        _segment_cache.popitem(last=False)
    return segments


def xrai(model, images, classes=None, *, steps=100, area_threshold=1.0, algorithm="full", min_pixel_diff=50,
         baselines=None, batch_size=None):
    """XRAI (Kapishnikov et al. 2019): PAIR's ``XRAI.GetMask``, regions ranked by their IG density.

    PAIR's defaults (``XRAIParameters``): IG with ``steps`` 100 from each of ``baselines`` (None: an
    all-min and an all-max image, PAIR's choice; else a list of numbers or arrays, one per baseline),
    Felzenszwalb segments, ``area_threshold`` 1.0, ``algorithm`` "full" ("fast": no overlap ranking),
    ``min_pixel_diff`` 50 (PAIR's ``experimental_params``). The segments PAIR would compute, computed once
    per image and process (:func:`xrai_segments`). (N, H, W, C) float32, one map per image copied into
    every channel.
    """
    if algorithm not in ("full", "fast"):
        raise MethodError(f"xrai: algorithm must be 'full' or 'fast', got {algorithm!r}")

    def mask(core, call, x, args, size):
        params = core.XRAIParameters(steps=int(steps), area_threshold=float(area_threshold), algorithm=algorithm)
        params.experimental_params["min_pixel_diff"] = int(min_pixel_diff)
        bases = None if baselines is None else [_baseline(b, x, "xrai baseline") for b in baselines]
        return core.XRAI().GetMask(x, call, call_model_args=args, baselines=bases, segments=xrai_segments(x),
                                   batch_size=size, extra_parameters=params)
    return _per_image(model, images, classes, batch_size, "xrai", mask)


def _guided_ig_step(x, attr, x_input, x_baseline, grad, step, steps, fraction, max_dist, l1_total):
    """One step of Guided IG for one image, in place on the path point ``x`` and ``attr`` (float64).

    PAIR's ``guided_ig_impl`` step: move the features of smallest |gradient| (``fraction`` of them) toward
    the input, at most ``max_dist`` ahead of the straight path, until the path's L1 distance to the input
    is the step's target; attribution += (x_new - x_old) * gradient at the step's start.
    """
    grad = grad.astype(np.float64)
    gated = grad.copy()
    alpha = (step + 1.0) / steps
    alpha_min, alpha_max = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
    diff = x_input - x_baseline
    x_min, x_max = x_baseline + diff * alpha_min, x_baseline + diff * alpha_max
    l1_target = l1_total * (1 - (step + 1) / steps)
    gamma = np.inf
    while gamma > 1.0:
        x_old = x.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            x_alpha = np.where(diff != 0, (x - x_baseline) / diff, np.nan)
        x_alpha[np.isnan(x_alpha)] = alpha_max
        behind = x_alpha < alpha_min
        x[behind] = x_min[behind]
        l1_current = np.abs(x - x_input).sum()
        if math.isclose(l1_target, l1_current, rel_tol=1e-9, abs_tol=1e-9):
            attr += (x - x_old) * grad
            break
        gated[x == x_max] = np.inf
        threshold = np.quantile(np.abs(gated), fraction, method="lower")
        chosen = (np.abs(gated) <= threshold) & (gated != np.inf)
        l1_chosen = (np.abs(x - x_max) * chosen).sum()
        gamma = (l1_current - l1_target) / l1_chosen if l1_chosen > 0 else np.inf
        if gamma > 1.0:
            x[chosen] = x_max[chosen]
        else:
            x[chosen] = (x + (x_max - x) * gamma)[chosen]
        attr += (x - x_old) * grad


def guided_ig(model, images, classes=None, *, x_steps=200, fraction=0.25, max_dist=0.02, x_baseline=None,
              batch_size=None):
    """Guided Integrated Gradients (Kapishnikov et al. 2021), PAIR's ``GuidedIG.GetMask`` with its defaults.

    ``x_steps`` 200, ``fraction`` 0.25 (share of features moved per step), ``max_dist`` 0.02 (how far the
    path may stray ahead of the straight line; 0 is IG), ``x_baseline`` None (zeros; a number or an array).
    PAIR 0.2.1's own class calls ``np.quantile(interpolation=)``, which numpy 2 removed: this is its
    algorithm step for step (``method="lower"``). One image per model call, as PAIR: which features move is
    decided by ranking gradients, so the engines' rounding differences between batch shapes (1e-7) change
    the path (batching two images in one call changed our TensorFlow CNN's masks by 8% of their maximum,
    doc/RESULTS.md section 18),
    and an image's mask must not depend on which images share its batch. (N, H, W, C) float32.
    """
    if int(x_steps) < 1 or not 0 <= float(fraction) <= 1 or not 0 <= float(max_dist) <= 1:
        raise MethodError(f"guided_ig: need x_steps >= 1 and fraction, max_dist in [0, 1]; got {x_steps}, "
                          f"{fraction}, {max_dist}")
    x_input = model.check_images(images).astype(np.float64)
    classes = resolve_classes(model, x_input.astype(np.float32), classes, batch_size)
    attr = np.zeros_like(x_input)
    for i, x in enumerate(x_input):
        base = np.zeros_like(x) if x_baseline is None else _baseline(x_baseline, x, "x_baseline").astype(np.float64)
        path, l1_total = base.copy(), np.abs(x - base).sum()
        if l1_total == 0:
            continue
        for step in range(int(x_steps)):
            grad = model.input_gradients(path[None], classes[i:i + 1], batch_size=batch_size)[0]
            _guided_ig_step(path, attr[i], x, base, grad, step, int(x_steps), float(fraction), float(max_dist),
                            l1_total)
    return finish(attr, "guided_ig")


def blur_ig(model, images, classes=None, *, max_sigma=50, steps=100, grad_step=0.01, sqrt=False, batch_size=None):
    """Blur Integrated Gradients (Xu et al. 2020): PAIR's ``BlurIG.GetMask``, IG along a Gaussian-blur path.

    PAIR's defaults: ``max_sigma`` 50, ``steps`` 100, ``grad_step`` 0.01, ``sqrt`` False (evenly spaced
    sigmas; True: square-root spacing, run one step per model call, see the module docstring).
    (N, H, W, C) float32.
    """
    def mask(core, call, x, args, size):
        return core.BlurIG().GetMask(x, call, call_model_args=args, max_sigma=float(max_sigma), steps=int(steps),
                                     grad_step=float(grad_step), sqrt=bool(sqrt), batch_size=1 if sqrt else size)
    return _per_image(model, images, classes, batch_size, "blur_ig", mask)


#: The hand-over format of built-in library methods (see ``methods.library_methods``).
LIBRARY_METHODS = [
    {"name": "xrai", "label": "XRAI", "function": xrai,
     "defaults": {"steps": 100, "area_threshold": 1.0, "algorithm": "full", "min_pixel_diff": 50, "baselines": None},
     "needs": (), "library": None, "noisy": False},
    {"name": "guided_ig", "label": "Guided IG", "function": guided_ig,
     "defaults": {"x_steps": 200, "fraction": 0.25, "max_dist": 0.02, "x_baseline": None},
     "needs": (), "library": None, "noisy": False},
    {"name": "blur_ig", "label": "Blur IG", "function": blur_ig,
     "defaults": {"max_sigma": 50, "steps": 100, "grad_step": 0.01, "sqrt": False},
     "needs": (), "library": None, "noisy": False},
]
