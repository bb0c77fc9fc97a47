"""Captum's attributions by name, on PyTorch-engine models (captum==0.9.0).

Every method runs Captum's own class on the engine's module (its current weights; a final softmax
looked through, so the class's logit is explained, see ``library_explain``), images transposed to
(N, C, H, W) and the attributions back to (N, H, W, C), ``batch_size`` images per ``attribute`` call.
Settings keep Captum's keyword names; defaults are Captum's own, except where Captum has none (each
docstring says so). The noisy ones (GradientSHAP, NoiseTunnel) are in ``captum_noisy``.

Importing this module does not import torch or captum; calling a method does.
"""
import numpy as np

from ...methods.base import MethodError, finish
from .library_explain import batches, logits_module, prepare, targets, to_nchw, to_nhwc

LIBRARY = "captum==0.9.0"


def _baselines(value):
    """None (Captum's default: zeros) or a number."""
    return None if value is None else float(value)


def attribute_with(model, x, classes, batch_size, make, attribute, name, images_per_call=None):
    """Captum attributions of (N, H, W, C) images: ``attribute(make(module), nchw, target)`` batch by batch."""
    out = np.empty(x.shape, np.float32)
    with logits_module(model) as net:
        method = make(net)
        for part in batches(len(x), images_per_call or batch_size):
            out[part] = to_nhwc(attribute(method, to_nchw(model, x[part]), targets(model, classes[part])))
    return finish(out, name)


# ------------------------------------------------------------------ one Captum class each
def _saliency(abs=True):
    from captum.attr import Saliency
    return Saliency, lambda m, t, target: m.attribute(t, target=target, abs=bool(abs))


def _input_x_gradient():
    from captum.attr import InputXGradient
    return InputXGradient, lambda m, t, target: m.attribute(t, target=target)


def _integrated_gradients(n_steps=50, method="gausslegendre", baselines=None, internal_batch_size=None):
    from captum.attr import IntegratedGradients
    return IntegratedGradients, lambda m, t, target: m.attribute(
        t, baselines=_baselines(baselines), target=target, n_steps=int(n_steps), method=method,
        internal_batch_size=internal_batch_size)


def _guided_backprop():
    from captum.attr import GuidedBackprop
    return GuidedBackprop, lambda m, t, target: m.attribute(t, target=target)


def _deconvolution():
    from captum.attr import Deconvolution
    return Deconvolution, lambda m, t, target: m.attribute(t, target=target)


def _deeplift(baselines=None, eps=1e-10, multiply_by_inputs=True):
    from captum.attr import DeepLift
    return (lambda net: DeepLift(net, multiply_by_inputs=bool(multiply_by_inputs), eps=float(eps)),
            lambda m, t, target: m.attribute(t, baselines=_baselines(baselines), target=target))


def _occlusion(sliding_window_shapes=(1, 4, 4), strides=None, baselines=None, perturbations_per_eval=None,
               internal_batch_size=64):
    from captum.attr import Occlusion
    if strides is not None and not isinstance(strides, (int, float)):
        strides = tuple(int(s) for s in strides)

    def attribute(m, t, target):
        per_eval = perturbations_per_eval or max(1, int(internal_batch_size) // len(t))
        return m.attribute(t, sliding_window_shapes=tuple(int(s) for s in sliding_window_shapes), strides=strides,
                           baselines=_baselines(baselines), target=target, perturbations_per_eval=int(per_eval))
    return Occlusion, attribute


#: Captum sums these methods' steps in groups of ``internal_batch_size // images``: one image per call keeps an
#: image's mask independent of the images beside it (otherwise it moves by rounding with their number).
ONE_IMAGE_PER_CALL = ("integrated_gradients",)

#: name -> (maker of (Captum class or factory, attribute function) from the settings, Captum's defaults).
#: These are also NoiseTunnel's base methods.
ATTRIBUTIONS = {
    "saliency": (_saliency, {"abs": True}),
    "input_x_gradient": (_input_x_gradient, {}),
    "integrated_gradients": (_integrated_gradients, {"n_steps": 50, "method": "gausslegendre", "baselines": None}),
    "guided_backprop": (_guided_backprop, {}),
    "deconvolution": (_deconvolution, {}),
    "deeplift": (_deeplift, {"baselines": None, "eps": 1e-10, "multiply_by_inputs": True}),
    "occlusion": (_occlusion, {"sliding_window_shapes": (1, 4, 4), "strides": None, "baselines": None,
                               "perturbations_per_eval": None}),
}


def captum_attribution(name, settings, batch_size=None):
    """(make(module), attribute(method, nchw, target)) of Captum method ``name`` with ``settings``."""
    if name not in ATTRIBUTIONS:
        raise MethodError(f"unknown Captum attribution {name!r}; valid: {', '.join(ATTRIBUTIONS)}")
    maker, defaults = ATTRIBUTIONS[name]
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise MethodError(f"unknown setting(s) {', '.join(unknown)} for captum {name}; valid: "
                          f"{', '.join(defaults) or 'none'}")
    if name in ("integrated_gradients", "occlusion"):
        settings = {**settings, "internal_batch_size": batch_size}
    return maker(**settings)


def _method(name, doc):
    def method(model, images, classes=None, *, batch_size=None, **settings):
        model, x, classes, size = prepare(model, images, classes, batch_size, f"captum_{name}")
        make, attribute = captum_attribution(name, settings, size)
        return attribute_with(model, x, classes, size, make, attribute, f"captum_{name}",
                              1 if name in ONE_IMAGE_PER_CALL else None)
    method.__name__ = method.__qualname__ = f"captum_{name}"
    method.__doc__ = doc
    return method


captum_saliency = _method("saliency", """Captum ``Saliency``: the class logit's input gradient, ``abs`` True
    (Captum's default: its absolute value). (N, H, W, C) float32.""")
captum_input_x_gradient = _method("input_x_gradient", """Captum ``InputXGradient``: input times gradient.""")
captum_integrated_gradients = _method("integrated_gradients", """Captum ``IntegratedGradients``, Captum's defaults:
    ``n_steps`` 50, ``method`` "gausslegendre", ``baselines`` None (zeros; or a number). One image per call,
    its path points ``batch_size`` at a time (Captum's ``internal_batch_size``).""")
captum_guided_backprop = _method("guided_backprop", """Captum ``GuidedBackprop`` (hooks on the ReLU modules).""")
captum_deconvolution = _method("deconvolution", """Captum ``Deconvolution`` (hooks on the ReLU modules).""")
captum_deeplift = _method("deeplift", """Captum ``DeepLift`` (Rescale rule), Captum's defaults: ``baselines`` None
    (zeros; or a number), ``eps`` 1e-10, ``multiply_by_inputs`` True. Needs the module's nonlinearities as
    modules, each used once.""")
captum_occlusion = _method("occlusion", """Captum ``Occlusion``. Captum has no default window:
    ``sliding_window_shapes`` (1, 4, 4) in Captum's (C, H, W) order is Quantus's (one channel, 4x4 pixels);
    ``strides`` None (Captum: 1), ``baselines`` None (Captum: 0). ``perturbations_per_eval`` None: as many
    occluded copies per forward pass as make ``batch_size`` images (Captum's default, 1, runs one window
    position per pass and gives the same masks up to the rounding of batch shapes).""")


def captum_layer_gradcam(model, images, classes=None, *, layer=None, relu_attributions=False,
                         interpolate_mode="nearest", batch_size=None):
    """Captum ``LayerGradCam`` of ``layer`` (a module name; default the engine's GradCAM layer), upsampled
    to the image by Captum's ``LayerAttribution.interpolate`` and copied into every channel.

    Captum's defaults: ``relu_attributions`` False (the map is not ReLU'd), ``interpolate_mode``
    "nearest" (``interpolate``'s default, as Captum's ``GuidedGradCam`` uses). Not normalized (our
    ``gradcam`` is PAIR's, ReLU'd and divided by its max). (N, H, W, C) float32.
    """
    from ...methods.gradcam import gradcam_layer

    model, x, classes, size = prepare(model, images, classes, batch_size, "captum_layer_gradcam")
    layer = gradcam_layer(model, layer)

    def make(net):
        from captum.attr import LayerGradCam
        return LayerGradCam(net, net.get_submodule(layer))

    def attribute(method, t, target):
        from captum.attr import LayerAttribution
        cam = method.attribute(t, target=target, relu_attributions=bool(relu_attributions))
        return LayerAttribution.interpolate(cam, tuple(t.shape[2:]), interpolate_mode=interpolate_mode)

    # the (n, 1, H, W) map lands in every channel of the (n, H, W, C) masks by broadcasting
    return attribute_with(model, x, classes, size, make, attribute, "captum_layer_gradcam")


def _entry(name, label, function, defaults, needs=("pytorch",), noisy=False):
    return {"name": name, "label": label, "function": function, "defaults": dict(defaults), "needs": needs,
            "library": LIBRARY, "noisy": noisy}


#: The hand-over format of built-in library methods (see ``methods.library_methods``).
LIBRARY_METHODS = [
    _entry("captum_saliency", "Saliency (Captum)", captum_saliency, ATTRIBUTIONS["saliency"][1]),
    _entry("captum_input_x_gradient", "Input×Gradient (Captum)", captum_input_x_gradient, {}),
    _entry("captum_integrated_gradients", "Integrated Gradients (Captum)", captum_integrated_gradients,
           ATTRIBUTIONS["integrated_gradients"][1]),
    _entry("captum_guided_backprop", "Guided BackProp (Captum)", captum_guided_backprop, {}),
    _entry("captum_deconvolution", "Deconvolution (Captum)", captum_deconvolution, {}),
    _entry("captum_deeplift", "DeepLIFT (Captum)", captum_deeplift, ATTRIBUTIONS["deeplift"][1]),
    _entry("captum_occlusion", "Occlusion (Captum)", captum_occlusion, ATTRIBUTIONS["occlusion"][1]),
    _entry("captum_layer_gradcam", "GradCAM (Captum)", captum_layer_gradcam,
           {"layer": None, "relu_attributions": False, "interpolate_mode": "nearest"},
           needs=("pytorch", "conv_layer")),
]
