"""Explanation methods over a :class:`~sanity_checks.model.GraphModel`, batched and PAIR-compatible.

Every method is ``method(model, images, classes=None, *, batch_size=None, **settings)``:
images (N, H, W, C) -> masks (N, H, W, C) float32. ``classes=None`` explains each image's
current top class (recomputed from the weights the session holds now); else an int or one int
per image. Noisy methods also take ``seed`` (an int or a tuple of ints keying each image's noise
generator with ``image_ids``; or a ``np.random.Generator``, default 0) and ``image_ids``.

Modules: ``gradients`` (gradient, gradient_x_input, guided_backprop), ``integrated_gradients``,
``gradcam`` (gradcam, guided_gradcam), ``smoothing`` (smoothgrad, ig_smoothgrad, vargrad and the
documented noise), ``baselines`` (edge), ``registry`` (names, labels, default settings),
``compute`` (compute_masks: several methods sharing their common parts).

Results equal PAIR ``saliency`` 0.2.1's TF1 classes image by image (tests/test_methods.py), but
images, noise samples and IG steps are stacked into few large session runs.
"""
from .base import DegenerateMaskWarning, MethodError, resolve_classes
from .baselines import edge
from .compute import compute_masks
from .gradcam import gradcam, guided_gradcam
from .gradients import gradient, gradient_x_input, guided_backprop
from .integrated_gradients import integrated_gradients
from .registry import (DEFAULT_SETTINGS, LABELS, METHODS, QUICK_SETTINGS, available_methods, get_method,
                       method_label, method_settings, resolve_settings)
from .smoothing import ig_smoothgrad, smoothgrad, smoothing_noise, vargrad

__all__ = [
    "METHODS", "LABELS", "DEFAULT_SETTINGS", "QUICK_SETTINGS", "available_methods", "get_method", "method_label", "method_settings", "resolve_settings",
    "compute_masks", "resolve_classes", "smoothing_noise", "MethodError", "DegenerateMaskWarning",
    "gradient", "gradient_x_input", "integrated_gradients", "guided_backprop", "gradcam", "guided_gradcam",
    "smoothgrad", "ig_smoothgrad", "vargrad", "edge",
]
