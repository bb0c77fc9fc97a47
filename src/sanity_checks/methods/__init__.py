"""Explanation methods over a :class:`~sanity_checks.model.GraphModel`, batched and PAIR-compatible.

Every method is ``method(model, images, classes=None, *, batch_size=None, **settings)``:
images (N, H, W, C) -> masks (N, H, W, C) float32. ``classes=None`` explains each image's
current top class (recomputed from the weights the session holds now); else an int or one int
per image. Noisy methods also take ``seed`` (an int or a tuple of ints keying each image's noise
generator with ``image_ids``; or a ``np.random.Generator``, default 0) and ``image_ids``.

Modules: ``gradients`` (gradient, gradient_x_input, guided_backprop), ``integrated_gradients``,
``gradcam`` (gradcam, guided_gradcam), ``smoothing`` (smoothgrad, ig_smoothgrad, vargrad and the
documented noise), ``baselines`` (edge), ``registry`` (names, labels, default settings),
``compute`` (compute_masks: several methods sharing their common parts), ``conventions`` (a user's
method written as ours, as PAIR's or as Quantus'), ``failures`` (a method failing at run time).

Your own method: :func:`register_method` (from the command line: ``--method-module FILE.py``).

Results equal PAIR ``saliency`` 0.2.1's TF1 classes image by image (tests/test_methods.py), but
images, noise samples and IG steps are stacked into few large session runs.
"""
from .base import DegenerateMaskWarning, MethodError, resolve_classes
from .baselines import edge
from .compute import compute_masks
from .gradcam import gradcam, guided_gradcam
from .gradients import gradient, gradient_x_input, guided_backprop
from .integrated_gradients import integrated_gradients
from .registry import (DEFAULT_SETTINGS, LABELS, METHODS, NEEDS, QUICK_SETTINGS, available_methods, get_method,
                       method_label, method_settings, register_builtin, register_method, resolve_settings,
                       unregister_method)
from .smoothing import ig_smoothgrad, smoothgrad, smoothing_noise, vargrad

__all__ = [
    "register_method", "unregister_method", "NEEDS", "METHODS", "LABELS", "DEFAULT_SETTINGS", "QUICK_SETTINGS", "available_methods", "get_method", "method_label", "method_settings", "resolve_settings",
    "compute_masks", "resolve_classes", "smoothing_noise", "MethodError", "DegenerateMaskWarning",
    "gradient", "gradient_x_input", "integrated_gradients", "guided_backprop", "gradcam", "guided_gradcam",
    "smoothgrad", "ig_smoothgrad", "vargrad", "edge",
]

#: The wrapped libraries' methods (PAIR's XRAI, Guided IG, Blur IG; Captum; Zennit), registered as built-ins run
#: only when named (the list imports no framework; a missing library is refused at use with its install line).
from .library_methods import LIBRARY_METHODS  # noqa: E402
for _spec in LIBRARY_METHODS:
    register_builtin(**_spec, default=False)
