"""A PyTorch model from what a user names: a module object, a factory in a file or a module, a
torchvision or timm architecture, with weights from a state dict.

Specs (``--model``): ``my_net.py:make_model``, ``package.module:make_model`` (the factory the user
names, imported because they named it and called with no arguments, or with the literal keyword
arguments written after it: ``my_net.py:make_model(classes=10)``), ``torchvision:resnet18`` and
``timm:NAME`` (where installed; built with random weights, keyword arguments as above, e.g.
``torchvision:resnet18(num_classes=10)``). ``--weights FILE`` is read with ``torch.load(...,
weights_only=True)``: a file holding a whole pickled model runs code when read, and is refused unless
the user says ``--trust-model-code``. Every problem is one :class:`~sanity_checks.errors.ModelError`.
"""
import ast
import hashlib
import importlib
import importlib.util
import os
import re
import sys

from ...errors import ModelError

#: The options only PyTorch sources take.
TORCH_OPTIONS = ("weights", "input_shape", "device")
#: What the images of torchvision and timm architectures are when nobody says.
IMAGENET_SHAPE = (224, 224, 3)
INSTALL = "pip install -r requirements-torch.txt"
_SPEC = re.compile(r"^(?P<source>[^:]+):(?P<name>[A-Za-z_][\w.]*)(?:\((?P<args>.*)\))?$", re.S)


def import_torch():
    try:
        import torch
    except ImportError:
        raise ModelError(f"PyTorch models need torch, which is not installed: {INSTALL}") from None
    return torch


def is_torch_module(obj):
    torch = sys.modules.get("torch")   # (a module object can only come from a torch already imported)
    return torch is not None and isinstance(obj, torch.nn.Module)


def parse_spec(spec):
    """(source, name, keyword arguments) of a ``SOURCE:NAME[(k=v, ...)]`` spec, or None for anything else."""
    if not isinstance(spec, str) or os.path.exists(spec):
        return None
    match = _SPEC.match(spec.strip())
    if not match:
        return None
    source, name, args = match.group("source"), match.group("name"), match.group("args")
    if not (source in ("torchvision", "timm") or source.endswith(".py")
            or re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*", source)):
        return None
    kwargs = {}
    if args and args.strip():
        try:
            call = ast.parse(f"f({args})", mode="eval").body
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            if call.args or any(k is None for k in kwargs):
                raise ValueError("keyword arguments only")
        except (SyntaxError, ValueError) as err:
            raise ModelError(f"{spec}: the arguments after {name} must be literal keyword arguments "
                             f"(e.g. num_classes=10): {err}") from None
    return source, name, kwargs


def is_torch_spec(spec):
    return parse_spec(spec) is not None


def import_torchvision():
    """torchvision, also where its compiled operators do not load (a CUDA build of torchvision beside a CPU
    build of torch): then the two operator names its import registers are declared first (no model here
    uses them)."""
    try:
        import torchvision
        return torchvision
    except ImportError:
        raise ModelError(f"torchvision is not installed: {INSTALL}") from None
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    torch = import_torch()
    library = torch.library.Library("torchvision", "DEF")   # kept alive with the module below
    for op in ("nms", "qnms"):
        library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision
    torchvision._sanity_checks_placeholder_ops = library
    return torchvision


def build(spec):
    """The ``nn.Module`` a spec names (its factory called), and a name for it."""
    torch = import_torch()
    source, name, kwargs = parse_spec(spec)
    if source == "torchvision":
        models = import_torchvision().models
        if name not in models.list_models():
            raise ModelError(f"torchvision has no model {name!r}; e.g. resnet18, vgg11, densenet121")
        factory = lambda **kw: models.get_model(name, weights=None, **kw)   # noqa: E731
    elif source == "timm":
        import_torchvision()   # timm imports it: where its operators do not load, declare them first
        try:
            import timm
        except ImportError:
            raise ModelError(f"timm is not installed: {INSTALL}") from None
        factory = lambda **kw: timm.create_model(name, pretrained=False, **kw)   # noqa: E731
    else:
        module = _import_source(source)
        factory = getattr(module, name, None)
        if factory is None:
            raise ModelError(f"{source} has no {name!r}; it defines: "
                             + ", ".join(n for n in sorted(vars(module)) if not n.startswith("_"))[:300])
    try:
        model = factory(**kwargs)
    except Exception as err:
        raise ModelError(f"{spec}: calling {name} failed: {type(err).__name__}: {err}") from None
    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"{spec}: {name} returned a {type(model).__name__}, not a torch.nn.Module")
    return model, name


def _import_source(source):
    """The module of a factory: a ``.py`` file (imported because the user named it) or a module path."""
    if source.endswith(".py"):
        path = os.path.abspath(source)
        if not os.path.isfile(path):
            raise ModelError(f"no file {source}")
        name = "sanity_checks_user_model_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[name]
            raise ModelError(f"importing {source} failed: {type(err).__name__}: {err}") from None
        return module
    try:
        return importlib.import_module(source)
    except ImportError as err:
        raise ModelError(f"cannot import {source}: {err}") from None


def read_state_dict(path, trust_model_code=False):
    """The state dict in ``path`` (``torch.load(weights_only=True)``; a whole pickled model only on trust)."""
    import pickle
    import zipfile

    torch = import_torch()
    if not os.path.isfile(path):
        raise ModelError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" not in str(err) or "invalid load key" in str(err):
            raise ModelError(f"cannot read {path} ({os.path.getsize(path):,} bytes) as PyTorch weights: it is "
                             f"truncated or not a file torch.save wrote") from None
        if not trust_model_code:
            raise ModelError(f"{path} holds more than weights (a pickled model or other objects: code runs when it "
                             f"is read); pass --trust-model-code if you trust the file, or save "
                             f"model.state_dict() instead") from None
        state = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise ModelError(f"cannot read {path} ({os.path.getsize(path):,} bytes) as PyTorch weights: it is "
                         f"truncated or not a file torch.save wrote ({str(err).splitlines()[0][:120]})") from None
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path} holds no state dict (a mapping of names to tensors)")
    return state


def load_weights(module, path, trust_model_code=False, show=5):
    """Load the state dict in ``path`` into ``module``; a mismatch names the first few keys of each kind."""
    state = read_state_dict(path, trust_model_code)
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} (file {tuple(state[k].shape)}, model {tuple(own[k].shape)})" for k in own
              if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    problems = [f"{len(v)} {what}: {', '.join(v[:show])}{', ...' if len(v) > show else ''}"
                for what, v in (("missing", missing), ("unexpected", unexpected), ("of another shape", shapes)) if v]
    if problems:
        raise ModelError(f"{path} does not fit the model: " + "; ".join(problems))
    module.load_state_dict(state)


def load_torch(spec, weights=None, input_shape=None, device=None, trust_model_code=False, metadata=None,
               grouping="stages"):
    """A :class:`~sanity_checks.engines.pytorch.model.TorchModel` from an ``nn.Module`` or a spec."""
    from .model import TorchModel

    if is_torch_module(spec):
        module, name = spec, type(spec).__name__
    else:
        module, name = build(spec)
    if weights:
        load_weights(module, weights, trust_model_code)
    if input_shape is None:
        if isinstance(spec, str) and spec.split(":")[0] in ("torchvision", "timm"):
            input_shape = IMAGENET_SHAPE
        else:
            raise ModelError("a PyTorch model needs the shape of its images: --input-shape H W C (or --npy / "
                             "--data, whose images have it)")
    meta = {"architecture": name, "engine": "pytorch", **(metadata or {})}
    return TorchModel(module, input_shape, device=device, metadata=meta, name=name, grouping=grouping)


def reference(spec):
    """The spec with its file part absolute, for workers that start elsewhere."""
    source, rest = spec.split(":", 1)
    return f"{os.path.abspath(source)}:{rest}" if source.endswith(".py") else spec


def identity(spec, weights=None):
    """sha256 over the spec, the factory's file (if any) and the weights file."""
    digest = hashlib.sha256(spec.encode() + b"\0")
    source = spec.split(":", 1)[0]
    for path in ([source] if source.endswith(".py") else []) + ([weights] if weights else []):
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
