"""Turn whatever a user names as ``--model`` into a model behind the contract (:mod:`sanity_checks.contract`).

One entry point, :func:`load_model`, for every source; each source is one module:

- our own model folders (``model.ckpt.*`` + ``metadata.json``): :func:`sanity_checks.model.load_checkpoint_folder`;
- a folder with the public Inception v3 checkpoint: :func:`sanity_checks.imagenet.load_inception_v3`;
- a Keras model (a ``.keras`` / ``.h5`` file of Keras 3 or tf-keras, a tf-keras SavedModel folder,
  or a Keras model object in memory): :func:`sanity_checks.keras.load_keras`;
- a ``.npz`` of the numpy reference model: :func:`sanity_checks.engines.numpy_mlp.load`.

The runners call only this module (``add_arguments`` / ``load_from_args``) and never ask what kind
of model they hold: everything they need (input shape, classes, blocks, GradCAM layer) is on the
model's :class:`~sanity_checks.contract.Architecture`.
"""
import os

from .errors import ModelError

#: Options only Keras sources take (see :func:`sanity_checks.keras.load_keras`).
KERAS_OPTIONS = ("trust_model_code", "custom_objects_module", "blocks_file", "blocks")


def load_model(spec, **options):
    """A model behind the contract from ``spec``: a model folder, an Inception v3 folder, a Keras file or
    SavedModel folder, a Keras model object, a ``torch.nn.Module``, a PyTorch spec (``my_net.py:factory``,
    ``package.module:factory``, ``torchvision:NAME``, ``timm:NAME``) or a numpy model's ``.npz``.

    ``options``: ``trust_model_code`` (Keras: allow Lambda layers that carry Python code; PyTorch: allow a
    weights file that holds a pickled model), Keras sources only: ``custom_objects_module`` (a module name or
    ``.py`` file holding the custom layer classes), ``blocks_file`` (JSON ``{block: [layer-name regex,
    ...]}``), ``blocks`` (the same mapping as a dict), ``log`` (where notes go; default print); PyTorch
    sources only: ``weights`` (a state dict file), ``input_shape`` ((H, W, C) of one image), ``device``;
    Keras and PyTorch: ``grouping`` ('stages', the default: layers merged by the stages their names show;
    'layers': one block per weighted layer; :mod:`sanity_checks.stages`).
    """
    from .engines import numpy_mlp
    from .engines.pytorch.loading import TORCH_OPTIONS, is_torch_module, is_torch_spec, load_torch
    from .stages import DEFAULT_GROUPING, check_grouping

    grouping = check_grouping(options.pop("grouping", None) or DEFAULT_GROUPING)   # our own models: their blocks
    if isinstance(spec, (str, os.PathLike)) and numpy_mlp.is_numpy_mlp_file(spec):
        return numpy_mlp.load(spec)   # no TensorFlow needed
    torch_given = sorted(k for k in TORCH_OPTIONS if options.get(k) not in (None, False, {}))
    if is_torch_module(spec) or is_torch_spec(spec):
        keras_given = sorted(k for k in KERAS_OPTIONS
                             if k != "trust_model_code" and options.get(k) not in (None, False, {}))
        if keras_given:
            raise ModelError(f"{', '.join(keras_given)} apply to Keras models only")
        return load_torch(spec, **{k: options.get(k) for k in TORCH_OPTIONS},
                          trust_model_code=bool(options.get("trust_model_code")), grouping=grouping)
    if torch_given:
        raise ModelError(f"{', '.join(torch_given)} apply to PyTorch models only, and {spec} is not one "
                         f"(give my_net.py:factory, package.module:factory, torchvision:NAME or timm:NAME)")
    options = {k: v for k, v in options.items() if k not in TORCH_OPTIONS}
    from .keras.assemble import load_keras
    from .keras.sources import is_keras_model, is_keras_path

    if not isinstance(spec, (str, os.PathLike)):
        if is_keras_model(spec):
            return load_keras(spec, **options, grouping=grouping)
        raise ModelError(f"cannot load a model from a {type(spec).__name__}: give a model folder, a Keras file "
                         f"(.keras, .h5), a tf-keras SavedModel folder, a Keras model object or a torch.nn.Module")
    spec = os.fspath(spec)
    if is_keras_path(spec):
        return load_keras(spec, **options, grouping=grouping)
    given = sorted(k for k in options if k in KERAS_OPTIONS and options[k] not in (None, False, {}))
    if given:
        raise ModelError(f"{', '.join(given)} apply to Keras models only, and {spec} is not a Keras file")
    from . import imagenet
    from .model import load_checkpoint_folder

    if imagenet.is_inception_folder(spec):
        return imagenet.load_inception_v3(spec)
    return load_checkpoint_folder(spec)


def cache_folder(spec):
    """Where results derived from a model (parameter-saliency statistics) are cached: our model folders
    themselves; for a Keras file or SavedModel, a folder beside it named ``<name>.sanity_checks`` (the
    Keras file itself is never written)."""
    from .keras.sources import is_keras_path

    spec = os.fspath(spec)
    if is_keras_path(spec):
        return os.path.normpath(spec) + ".sanity_checks"
    return spec


def add_arguments(parser):
    """The model-loading options every runner has (besides its own ``--model``)."""
    group = parser.add_argument_group("Keras models")
    group.add_argument("--trust-model-code", action="store_true",
                       help="allow Lambda layers that carry Python code (it runs when the model is built), or a "
                            "PyTorch --weights file holding a pickled model: only for files you trust")
    group.add_argument("--custom-objects-module", default=None, metavar="MODULE",
                       help="a module name or .py file defining the model's custom layer classes "
                            "(its CUSTOM_OBJECTS dict, else every class and function it defines)")
    group.add_argument("--blocks-file", default=None, metavar="JSON",
                       help="JSON {block name: [layer-name regex, ...]} grouping layers into blocks "
                            "(default: every layer with weights is a block, batch norm folded in)")


    group = parser.add_argument_group(
        "PyTorch models", "--model my_net.py:make_model, package.module:make_model, torchvision:NAME or timm:NAME, "
                          "optionally with literal keyword arguments: torchvision:resnet18(num_classes=10)")
    group.add_argument("--weights", default=None, metavar="FILE",
                       help="a state dict (torch.save(model.state_dict(), FILE)), read without running code")
    group.add_argument("--input-shape", type=int, nargs=3, default=None, metavar=("H", "W", "C"),
                       help="the images' shape (default: that of --npy or --data; torchvision/timm: 224 224 3)")
    group.add_argument("--device", default=None,
                       help="cpu, cuda or cuda:N (default: the first GPU torch sees, else the CPU)")


def options_from_args(args):
    """The loading options of parsed ``args``; PyTorch's only where given (a PyTorch model's image shape
    defaults to that of the --npy array or the --data set), paths absolute for workers elsewhere."""
    options = {"trust_model_code": getattr(args, "trust_model_code", False),
               "custom_objects_module": getattr(args, "custom_objects_module", None),
               "blocks_file": getattr(args, "blocks_file", None)}
    if getattr(args, "grouping", None):   # --blocks layers|stages (cli.options.take_grouping)
        options["grouping"] = args.grouping
    from .engines.pytorch.loading import is_torch_spec

    if is_torch_spec(getattr(args, "model", None)) or getattr(args, "weights", None):
        shape = getattr(args, "input_shape", None)
        if shape is None and getattr(args, "npy", None) and os.path.isfile(args.npy):
            import numpy as np
            shape = np.load(args.npy, mmap_mode="r", allow_pickle=False).shape[1:]
        elif shape is None and getattr(args, "data", None):
            shape = (28, 28, 1)
        torch = {"weights": args.weights and os.path.abspath(args.weights),
                 "input_shape": shape and [int(d) for d in shape], "device": getattr(args, "device", None)}
        options.update({k: v for k, v in torch.items() if v})
    return options


def model_reference(spec):
    """What names ``spec`` for a worker that starts elsewhere: a path made absolute, a PyTorch spec with its
    file part absolute."""
    from .engines.pytorch.loading import is_torch_spec, reference

    return reference(spec) if is_torch_spec(spec) else os.path.abspath(spec)


def model_identity(spec, options=None):
    """sha256 naming the model's contents in a run's record: its files (a folder's, a Keras file), or a
    PyTorch spec with its factory file and weights."""
    from .engines.pytorch.loading import identity, is_torch_spec
    from .runs import checkpoint_hash

    if is_torch_spec(spec):
        return identity(spec, (options or {}).get("weights"))
    return checkpoint_hash(spec)


def load_from_args(args, spec=None):
    """The model ``spec`` (default ``args.model``) with the loading options of ``args``."""
    return load_model(args.model if spec is None else spec, **options_from_args(args))
