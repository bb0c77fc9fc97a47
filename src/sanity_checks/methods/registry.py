"""The methods by name: one registry, filled by :func:`register_method` (the built-ins are registered the
same way a user's method is), and everything read from it live: functions, figure labels, default
settings, what a model needs to run a method.
"""
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

from .base import MethodError
from .baselines import edge
from .conventions import CONVENTIONS, adapt
from .gradcam import gradcam, guided_gradcam
from .gradients import gradient, gradient_x_input, guided_backprop
from .integrated_gradients import integrated_gradients
from .smoothing import ig_smoothgrad, smoothgrad, vargrad

#: What a method may need of a model: a convolutional layer to read (GradCAM-type), or the PyTorch engine.
NEEDS = ("conv_layer", "pytorch")


@dataclass(frozen=True)
class MethodSpec:
    """One method: ``function(model, images, classes=None, *, batch_size=None, **defaults)`` (the
    registered function adapted from its ``convention``; ``source`` is what was registered).

    ``parts``: (keyword, method, settings passed on) for masks it is made of, so that
    :func:`~sanity_checks.methods.compute_masks` computes a shared gradient, guided backprop or
    GradCAM once. ``noisy`` methods also take ``seed`` and ``image_ids``. ``library``: the pip
    requirement it comes from (None: this package). ``default``: run when no methods are named.
    """

    name: str
    label: str
    function: Callable
    defaults: dict = field(default_factory=dict)
    needs: tuple = ()
    noisy: bool = False
    parts: tuple = ()
    convention: str = "ours"
    library: str = None
    builtin: bool = False
    default: bool = True
    source: object = None

    @property
    def needs_conv_layer(self):
        return "conv_layer" in self.needs


_REGISTRY = {}   # name -> MethodSpec, in registration order


def register_method(name, function, label=None, defaults=None, needs=(), convention=None, *, noisy=False,
                    library=None, parts=(), default=True, builtin=False):
    """Register an explanation method under ``name``; it is then a method like the built-in ones (in
    ``--methods``, every runner and check, figures with its ``label``). Returns its :class:`MethodSpec`.

    ``convention`` says how ``function`` is called (:mod:`~sanity_checks.methods.conventions`):
    'ours' ``function(model, images, classes, **settings)`` on the model contract, (N, H, W, C) masks;
    'pair' a PAIR ``saliency.core.CoreSaliency`` subclass or instance; 'quantus' an
    ``explain_func(model=, inputs=, targets=, **settings)`` given the user's own framework model; by default
    'pair' for an object with ``GetMask``, else 'ours'.
    ``defaults``: its settings, each changeable with ``--set NAME.SETTING=VALUE``. ``needs``: of
    :data:`NEEDS`. ``library``: the pip requirement it needs (refused with the install line when it is
    missing). Registering a name again replaces a user's method; a built-in one cannot be replaced.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise MethodError(f"a method name is letters, digits, '_' and '-' (it is written NAME.SETTING), got {name!r}")
    if name in _REGISTRY and _REGISTRY[name].builtin:
        raise MethodError(f"{name!r} is a built-in method; register yours under another name")
    needs = (needs,) if isinstance(needs, str) else tuple(needs or ())
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise MethodError(f"method {name}: unknown need(s) {', '.join(map(repr, unknown))}; valid: {', '.join(NEEDS)}")
    if convention is None:
        convention = "pair" if callable(getattr(function, "GetMask", None)) else "ours"
    if convention not in CONVENTIONS:
        raise MethodError(f"method {name}: unknown convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    defaults = dict(defaults or {})
    spec = MethodSpec(name, str(label or name), adapt(name, function, convention, needs, builtin, defaults), defaults, needs,
                      bool(noisy), tuple(parts), convention, library, bool(builtin), bool(default), function)
    _REGISTRY[name] = spec
    return spec


def unregister_method(name):
    """Remove a user's method (a test's, a notebook's); built-in methods stay."""
    if name in _REGISTRY and _REGISTRY[name].builtin:
        raise MethodError(f"{name!r} is a built-in method and cannot be removed")
    _REGISTRY.pop(name, None)


def register_builtin(**spec):
    """Register one of the package's own methods (or a wrapped library's: its ``library`` is set)."""
    spec.setdefault("default", spec.get("library") is None)
    return register_method(**spec, builtin=True)


for _name, _label, _function, _extra in (
        ("gradient", "Gradient", gradient, {}),
        ("gradient_x_input", "Gradient⊙Input", gradient_x_input, {"parts": (("gradient_masks", "gradient", ()),)}),
        ("integrated_gradients", "Integrated Gradients", integrated_gradients,
         {"defaults": {"x_steps": 50, "baseline": None}}),
        ("guided_backprop", "Guided BackProp", guided_backprop, {}),
        ("gradcam", "GradCAM", gradcam, {"defaults": {"layer": None, "resize": "tf1_bilinear"}, "needs": ("conv_layer",)}),
        ("guided_gradcam", "Guided GradCAM", guided_gradcam,
         {"defaults": {"layer": None, "resize": "tf1_bilinear"}, "needs": ("conv_layer",),
          "parts": (("guided_masks", "guided_backprop", ()), ("gradcam_masks", "gradcam", ("layer", "resize")))}),
        ("smoothgrad", "SmoothGrad", smoothgrad,
         {"defaults": {"stdev_spread": 0.15, "nsamples": 50, "magnitude": False}, "noisy": True}),
        ("ig_smoothgrad", "IG-SmoothGrad", ig_smoothgrad,
         {"defaults": {"stdev_spread": 0.15, "nsamples": 25, "magnitude": False, "x_steps": 50, "baseline": None},
          "noisy": True}),
        ("vargrad", "VarGrad", vargrad, {"defaults": {"stdev_spread": 0.15, "nruns": 25}, "noisy": True}),
        ("edge", "Edge detector", edge, {})):
    register_builtin(name=_name, label=_label, function=_function, **_extra)


class _Live(Mapping):
    """A read-only {name: value} view of the registry, read when used (a method registered later is in it)."""

    def __init__(self, read):
        self._read = read

    def __getitem__(self, name):
        return self._read(_REGISTRY[name])

    def __iter__(self):
        return iter(list(_REGISTRY))

    def __len__(self):
        return len(_REGISTRY)

    def __repr__(self):
        return repr(dict(self))


#: name -> MethodSpec.
SPECS = _Live(lambda spec: spec)
#: name -> function(model, images, classes=None, **settings) -> (N, H, W, C) float32 masks.
METHODS = _Live(lambda spec: spec.function)
#: name -> label for figures.
LABELS = _Live(lambda spec: spec.label)
#: name -> default settings (the built-ins: the original's, REFERENCE A2); a copy at every read. GradCAM's resize
#: is the original's PAIR 0.0.4 upsampling ("tf1_bilinear"); "skimage" is PAIR 0.2.1's.
DEFAULT_SETTINGS = _Live(lambda spec: dict(spec.defaults))


#: Few noise samples and integration steps: a smoke-test setting, not for numbers you report.
QUICK_SETTINGS = {"smoothgrad": {"nsamples": 5}, "vargrad": {"nruns": 5},
                  "integrated_gradients": {"x_steps": 10}, "ig_smoothgrad": {"nsamples": 3, "x_steps": 10}}


def get_spec(name):
    """The :class:`MethodSpec` of ``name``; unknown names raise :class:`MethodError` listing the valid ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown method {name!r}; valid methods: {', '.join(_REGISTRY)}") from None


def get_method(name):
    """The function of method ``name``."""
    return get_spec(name).function


def method_label(name):
    """The figure label of method ``name`` (e.g. 'Guided BackProp')."""
    return get_spec(name).label


def missing_library(name):
    """The one-line refusal of a method whose library is not installed, or None."""
    spec = get_spec(name)
    if not spec.library:
        return None
    module = re.split(r"[<>=!~\[; ]", spec.library, maxsplit=1)[0].replace("-", "_")
    if importlib.util.find_spec(module) is None:
        return f"method {name} needs {spec.library}, which is not installed: pip install '{spec.library}'"
    return None


def unmet_need(model, name):
    """Why ``model`` cannot run method ``name`` (a need it does not meet), or None."""
    spec = get_spec(name)
    if spec.needs_conv_layer and model.architecture.gradcam_layer is None:
        return f"{name} needs a convolutional layer (GradCAM's), which {model.architecture.name} does not declare"
    if "pytorch" in spec.needs and getattr(model, "framework", None) != "pytorch":
        return f"{name} runs on PyTorch models only ({model.architecture.name} is not one)"
    if spec.convention == "quantus" and getattr(model, "framework", None) is None:
        return (f"{name} needs the model's own framework model (a torch.nn.Module or a Keras model), which "
                f"{model.architecture.name} cannot hand over")
    return None


def supports(model, name):
    """Whether ``model`` can run method ``name`` (GradCAM needs the architecture's gradcam_layer)."""
    return unmet_need(model, name) is None


def available_methods(model):
    """Names of the methods run when none are named: those registered as default that ``model`` can run,
    in registry order (no GradCAM for the MLP; a library's methods only when named)."""
    return [name for name, spec in _REGISTRY.items() if spec.default and supports(model, name)]


#: Settings a method takes from another unless given its own: Guided GradCAM reads the layer GradCAM reads,
#: upsampled the same way, so that one ``--set gradcam.layer=NAME`` governs both.
FOLLOWS = {"guided_gradcam": ("gradcam", ("layer", "resize"))}


def resolve_settings(model, names, settings=None):
    """{name: full settings} of the methods ``names`` on ``model``: the one place method settings are checked.

    A method in :data:`FOLLOWS` takes the listed settings of the method it follows where it has none of its
    own (``gradcam.layer`` is Guided GradCAM's layer too, unless ``guided_gradcam.layer`` is given).

    Refused before any work (:class:`MethodError`): an unknown method among ``names`` or among the
    keys of ``settings`` ({method: {setting: value}}), an unknown setting, a method whose library is not
    installed (the line names the install command) or that needs what the model lacks, and a GradCAM-type
    method (named or given settings) whose layer the model cannot give (none, unknown, or not (h, w, K)).
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
        reason = missing_library(name) if name in names else None
        if reason:
            raise MethodError(reason)
        if get_spec(name).needs_conv_layer:
            gradcam_layer(model, resolved[name].get("layer"))
        elif name in names and unmet_need(model, name):
            raise MethodError(unmet_need(model, name))
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
    """The default settings of ``name`` updated by ``overrides``; unknown keys raise MethodError."""
    spec = get_spec(name)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(spec.defaults))
    if unknown:
        valid = ", ".join(spec.defaults) or "none"
        raise MethodError(f"unknown setting(s) {', '.join(unknown)} for {name}; valid settings: {valid}")
    return {**spec.defaults, **overrides}
