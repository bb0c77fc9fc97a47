"""Captum's noisy attributions, GradientSHAP and NoiseTunnel, with our keyed draws.

Captum draws their random numbers from the global generators (``torch.normal`` for the noise,
``np.random.choice`` for GradientSHAP's baselines, ``np.random.uniform`` for its path points), so a
draw depends on the batch and on whatever ran before. Here every draw comes from the image's own
generator and Captum's deterministic parts do the rest, with Captum's arithmetic: the masks equal
Captum's own ``GradientShap`` / ``NoiseTunnel`` given these draws (tests/test_library_methods.py).

Draws of image i, S samples, images (H, W, C) (``rng = random_streams.image_noise_rng(seed,
image_ids[i])``, the stream SmoothGrad draws from; a ``np.random.Generator`` as ``seed`` is drawn from
image after image):

    z = rng.standard_normal((S, H, W, C))     # noise = float32(stdevs * z); noisy copy = x_i + noise
    idx = rng.integers(0, B, S)               # GradientSHAP: which of the B baselines, per sample
    alpha = rng.random(S)                     # GradientSHAP: where on the baseline-to-copy path

Importing this module does not import torch or captum; calling a method does.
"""
import numpy as np

from ...methods.base import MethodError, finish
from ...random_streams import image_noise_rng
from .captum_methods import LIBRARY, ONE_IMAGE_PER_CALL, captum_attribution
from .library_explain import batches, logits_module, prepare, targets, to_nchw, to_nhwc

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


def keyed_draws(images, n_samples, stdevs, seed=0, image_ids=None, n_baselines=None):
    """(noise (N, S, H, W, C) float32, idx (N, S) int64 or None, alpha (N, S) float64 or None), as documented."""
    x = np.asarray(images, np.float32)
    n_samples = int(n_samples)
    if n_samples < 1:
        raise MethodError(f"the number of samples must be >= 1, got {n_samples}")
    ids = np.arange(len(x)) if image_ids is None else np.asarray(image_ids).reshape(-1)
    if len(ids) != len(x):
        raise MethodError(f"need one image id per image ({len(x)}), got {len(ids)}")
    noise = np.empty((len(x), n_samples) + x.shape[1:], np.float32)
    idx = None if n_baselines is None else np.empty((len(x), n_samples), np.int64)
    alpha = None if n_baselines is None else np.empty((len(x), n_samples), np.float64)
    for i, image_id in enumerate(ids):
        rng = seed if isinstance(seed, np.random.Generator) else image_noise_rng(seed, image_id)
        noise[i] = (float(stdevs) * rng.standard_normal((n_samples,) + x.shape[1:])).astype(np.float32)
        if n_baselines is not None:
            idx[i] = rng.integers(0, n_baselines, n_samples)
            alpha[i] = rng.random(n_samples)
    return noise, idx, alpha


def baseline_images(baselines, shape):
    """GradientSHAP's baseline distribution as (B, H, W, C) float32: from a number, a list of numbers (one
    constant image each), an (H, W, C) image or (B, H, W, C) images."""
    values = np.asarray(baselines, np.float32)
    if values.ndim <= 1:
        return np.ones((values.size,) + tuple(shape), np.float32) * values.reshape((-1,) + (1,) * len(shape))
    if values.shape == tuple(shape):
        return values[None]
    if values.ndim == len(shape) + 1 and values.shape[1:] == tuple(shape):
        return values
    raise MethodError(f"baselines of shape {values.shape} do not fit images of shape {tuple(shape)}")


def _chunks(n, n_samples, batch_size, one_image=False):
    return batches(n, 1 if one_image else max(1, int(batch_size) // n_samples))


def captum_gradient_shap(model, images, classes=None, *, n_samples=5, stdevs=0.0, baselines=0.0, seed=0,
                         image_ids=None, batch_size=None):
    """Captum ``GradientShap``: the mean over ``n_samples`` of (copy - b) * gradient at b + alpha (copy - b),
    b drawn from ``baselines``, alpha uniform, copy = image + N(0, ``stdevs``²) (draws: module docstring).

    Captum's defaults: ``n_samples`` 5, ``stdevs`` 0.0. Captum has no default baseline distribution:
    ``baselines`` 0.0, an all-zero image, is Quantus's choice (a number, a list of numbers, or images).
    (N, H, W, C) float32.
    """
    import torch
    from captum.attr import Saliency

    model, x, classes, size = prepare(model, images, classes, batch_size, "captum_gradient_shap")
    refs = baseline_images(baselines, x.shape[1:])
    noise, idx, alpha = keyed_draws(x, n_samples, stdevs, seed, image_ids, n_baselines=len(refs))
    s = int(n_samples)
    out = np.empty(x.shape, np.float32)
    with logits_module(model) as net:
        saliency = Saliency(net)
        for part in _chunks(len(x), s, size):
            n = len(x[part])
            noisy = to_nchw(model, (x[part, None] + noise[part]).reshape((n * s,) + x.shape[1:]))
            base = to_nchw(model, refs[idx[part].reshape(-1)])
            a = torch.tensor(alpha[part].reshape(-1), dtype=noisy.dtype, device=noisy.device).view(-1, 1, 1, 1)
            points = a * noisy + (1.0 - a) * base
            grads = saliency.attribute(points, target=targets(model, np.repeat(classes[part], s)), abs=False)
            attributions = ((noisy - base) * grads).reshape((n, s) + tuple(noisy.shape[1:]))
            out[part] = to_nhwc(attributions.sum(dim=1) * 1 / s)
    return finish(out, "captum_gradient_shap")


def captum_noise_tunnel(model, images, classes=None, *, attribution="saliency", attribution_settings=None,
                        nt_type="smoothgrad", nt_samples=5, stdevs=1.0, seed=0, image_ids=None, batch_size=None):
    """Captum ``NoiseTunnel`` over Captum attribution ``attribution`` (a name of ``captum_methods.ATTRIBUTIONS``,
    with ``attribution_settings`` over its Captum defaults), on ``nt_samples`` noisy copies image +
    N(0, ``stdevs``²) (draws: module docstring).

    Captum's defaults: ``nt_type`` "smoothgrad" (mean; "smoothgrad_sq": mean of squares; "vargrad":
    their variance), ``nt_samples`` 5, ``stdevs`` 1.0 (absolute, not relative to the image's range).
    Captum needs a base method and has no default: ``attribution`` "saliency" (Captum's ``Saliency``,
    whose own default takes the gradient's absolute value). (N, H, W, C) float32.
    """
    import torch

    if nt_type not in NT_TYPES:
        raise MethodError(f"nt_type must be one of {', '.join(NT_TYPES)}, got {nt_type!r}")
    model, x, classes, size = prepare(model, images, classes, batch_size, "captum_noise_tunnel")
    make, attribute = captum_attribution(attribution, dict(attribution_settings or {}), size)
    noise, _, _ = keyed_draws(x, nt_samples, stdevs, seed, image_ids)
    s = int(nt_samples)
    out = np.empty(x.shape, np.float32)
    with logits_module(model) as net:
        method = make(net)
        for part in _chunks(len(x), s, size, attribution in ONE_IMAGE_PER_CALL):
            n = len(x[part])
            noisy = to_nchw(model, (x[part, None] + noise[part]).reshape((n * s,) + x.shape[1:]))
            attributions = attribute(method, noisy, targets(model, np.repeat(classes[part], s)))
            attributions = attributions.reshape((n, s) + tuple(attributions.shape[1:]))
            mean = attributions.sum(dim=1) * 1 / s
            mean_sq = torch.pow(attributions, 2).sum(dim=1) * 1 / s
            smoothed = {"smoothgrad": mean, "smoothgrad_sq": mean_sq}.get(nt_type)
            out[part] = to_nhwc(mean_sq - mean * mean if smoothed is None else smoothed)
    return finish(out, "captum_noise_tunnel")


#: The hand-over format of built-in library methods (see ``methods.library_methods``).
LIBRARY_METHODS = [
    {"name": "captum_gradient_shap", "label": "GradientSHAP (Captum)", "function": captum_gradient_shap,
     "defaults": {"n_samples": 5, "stdevs": 0.0, "baselines": 0.0}, "needs": ("pytorch",), "library": LIBRARY,
     "noisy": True},
    {"name": "captum_noise_tunnel", "label": "NoiseTunnel (Captum)", "function": captum_noise_tunnel,
     "defaults": {"attribution": "saliency", "attribution_settings": None, "nt_type": "smoothgrad",
                  "nt_samples": 5, "stdevs": 1.0}, "needs": ("pytorch",), "library": LIBRARY, "noisy": True},
]
