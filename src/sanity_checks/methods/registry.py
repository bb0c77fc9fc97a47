"""The methods by name: their functions, figure labels, the original's settings, and which
models can run them.
"""
from dataclasses import dataclass, field
from typing import Callable

from .base import MethodError
from .baselines import edge
from .gradcam import gradcam, guided_gradcam
from .gradients import gradient, gradient_x_input, guided_backprop
from .integrated_gradients import integrated_gradients
from .smoothing import ig_smoothgrad, smoothgrad, vargrad


@dataclass(frozen=True)
class MethodSpec:
    """One method: ``function(model, images, classes=None, *, batch_size=None, **defaults)``.

    ``parts``: (keyword, method, settings passed on) for masks it is made of, so that
    :func:`~sanity_checks.methods.compute_masks` computes a shared gradient, guided backprop or
    GradCAM once. ``noisy`` methods also take ``seed``.
    """

    name: str
    label: str
    function: Callable
    defaults: dict = field(default_factory=dict)
    needs_conv_layer: bool = False
    noisy: bool = False
    parts: tuple = ()


_SPECS = (
    MethodSpec("gradient", "Gradient", gradient),
    MethodSpec("gradient_x_input", "Gradient⊙Input", gradient_x_input,
               parts=(("gradient_masks", "gradient", ()),)),
    MethodSpec("integrated_gradients", "Integrated Gradients", integrated_gradients,
               {"x_steps": 50, "baseline": None}),
    MethodSpec("guided_backprop", "Guided BackProp", guided_backprop),
    MethodSpec("gradcam", "GradCAM", gradcam, {"layer": None, "resize": "skimage"}, needs_conv_layer=True),
    MethodSpec("guided_gradcam", "Guided GradCAM", guided_gradcam, {"layer": None, "resize": "skimage"},
               needs_conv_layer=True,
               parts=(("guided_masks", "guided_backprop", ()), ("gradcam_masks", "gradcam", ("layer", "resize")))),
    MethodSpec("smoothgrad", "SmoothGrad", smoothgrad,
               {"stdev_spread": 0.15, "nsamples": 50, "magnitude": False}, noisy=True),
    MethodSpec("ig_smoothgrad", "IG-SmoothGrad", ig_smoothgrad,
               {"stdev_spread": 0.15, "nsamples": 25, "magnitude": False, "x_steps": 50, "baseline": None},
               noisy=True),
    MethodSpec("vargrad", "VarGrad", vargrad, {"stdev_spread": 0.15, "nruns": 25}, noisy=True),
    MethodSpec("edge", "Edge detector", edge),
)

SPECS = {spec.name: spec for spec in _SPECS}
#: name -> function(model, images, classes=None, **settings) -> (N, H, W, C) float32 masks.
METHODS = {spec.name: spec.function for spec in _SPECS}
#: name -> label for figures.
LABELS = {spec.name: spec.label for spec in _SPECS}
#: name -> the original's settings (REFERENCE A2); copy before changing. GradCAM's resize is PAIR
#: 0.2.1's ("skimage"); "tf1_bilinear" is the original's PAIR 0.0.4 upsampling.
DEFAULT_SETTINGS = {spec.name: dict(spec.defaults) for spec in _SPECS}


#: Few noise samples and integration steps: a smoke-test setting, not for numbers you report.
QUICK_SETTINGS = {"smoothgrad": {"nsamples": 5}, "vargrad": {"nruns": 5},
                  "integrated_gradients": {"x_steps": 10}, "ig_smoothgrad": {"nsamples": 3, "x_steps": 10}}


def get_spec(name):
    """The :class:`MethodSpec` of ``name``; unknown names raise :class:`MethodError` listing the valid ones."""
    try:
        return SPECS[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown method {name!r}; valid methods: {', '.join(SPECS)}") from None


def get_method(name):
    """The function of method ``name``."""
    return get_spec(name).function


def method_label(name):
    """The figure label of method ``name`` (e.g. 'Guided BackProp')."""
    return get_spec(name).label


def supports(model, name):
    """Whether ``model`` can run method ``name`` (GradCAM needs the architecture's gradcam_layer)."""
    return not get_spec(name).needs_conv_layer or model.architecture.gradcam_layer is not None


def available_methods(model):
    """Names of the methods ``model`` can run, in registry order (no GradCAM for the MLP)."""
    return [name for name in SPECS if supports(model, name)]


#: Settings a method takes from another unless given its own: Guided GradCAM reads the layer GradCAM reads,
#: upsampled the same way, so that one ``--set gradcam.layer=NAME`` governs both.
FOLLOWS = {"guided_gradcam": ("gradcam", ("layer", "resize"))}


def resolve_settings(model, names, settings=None):
    """{name: full settings} of the methods ``names`` on ``model``: the one place method settings are checked.

    A method in :data:`FOLLOWS` takes the listed settings of the method it follows where it has none of its
    own (``gradcam.layer`` is Guided GradCAM's layer too, unless ``guided_gradcam.layer`` is given).

    Refused before any work (:class:`MethodError`): an unknown method among ``names`` or among the
    keys of ``settings`` ({method: {setting: value}}), an unknown setting, and a GradCAM-type method
    (named or given settings) whose layer the model cannot give (none, unknown, or not (h, w, K)).
    """
    from .gradcam import gradcam_layer

    settings = {name: dict(values or {}) for name, values in (settings or {}).items()}
    for name, (leader, keys) in FOLLOWS.items():
        inherited = {k: v for k, v in settings.get(leader, {}).items() if k in keys}
        if inherited and (name in names or name in settings):
            settings[name] = {**inherited, **settings.get(name, {})}
    resolved = {}
    for name in dict.fromkeys(list(names) + list(settings)):
        resolved[name] = method_settings(name, settings.get(name))
        if get_spec(name).needs_conv_layer:
            gradcam_layer(model, resolved[name].get("layer"))
    return {name: resolved[name] for name in names}


def runnable_methods(model, names, settings=None, log=print):
    """``names`` less the GradCAM-type methods ``model`` cannot run on the layer it gives by default (none,
    or not (h, w, K)), each said in one line to ``log``, then checked as :func:`resolve_settings` does: a
    layer the user named is still an error, as is a run left with no method."""
    from .gradcam import gradcam_layer

    kept, skipped = [], set()
    for name in names:
        leader = FOLLOWS.get(name, (name,))[0]
        named = any((settings or {}).get(m, {}).get("layer") for m in (name, leader))
        if get_spec(name).needs_conv_layer and not named:
            try:
                gradcam_layer(model, None)
            except MethodError as err:
                log(f"note: {get_spec(name).label} skipped: {str(err).split('; valid layers')[0]}")
                skipped.add(name)
                continue
        kept.append(name)
    if names and not kept:
        raise MethodError(f"no method left to run on {model.architecture.name}")
    resolve_settings(model, kept, {m: s for m, s in (settings or {}).items() if m not in skipped})
    return kept


def method_settings(name, overrides=None):
    """The original's settings of ``name`` updated by ``overrides``; unknown keys raise MethodError."""
    spec = get_spec(name)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(spec.defaults))
    if unknown:
        valid = ", ".join(spec.defaults) or "none"
        raise MethodError(f"unknown setting(s) {', '.join(unknown)} for {name}; valid settings: {valid}")
    return {**spec.defaults, **overrides}
