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
    """A :class:`GraphModel` from ``spec``: a model folder, an Inception v3 folder, a Keras file or
    SavedModel folder, or a Keras model object.

    ``options`` (Keras sources only): ``trust_model_code`` (allow Lambda layers that carry Python
    code), ``custom_objects_module`` (a module name or ``.py`` file holding the custom layer
    classes), ``blocks_file`` (JSON ``{block: [layer-name regex, ...]}``), ``blocks`` (the same
    mapping as a dict), ``log`` (where notes go; default print).
    """
    from .engines import numpy_mlp

    if isinstance(spec, (str, os.PathLike)) and numpy_mlp.is_numpy_mlp_file(spec):
        return numpy_mlp.load(spec)   # no TensorFlow needed
    from .keras.assemble import load_keras
    from .keras.sources import is_keras_model, is_keras_path

    if not isinstance(spec, (str, os.PathLike)):
        if is_keras_model(spec):
            return load_keras(spec, **options)
        raise ModelError(f"cannot load a model from a {type(spec).__name__}: give a model folder, a Keras file "
                         f"(.keras, .h5), a tf-keras SavedModel folder or a Keras model object")
    spec = os.fspath(spec)
    if is_keras_path(spec):
        return load_keras(spec, **options)
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
                       help="allow Lambda layers that carry Python code (it runs when the model is built): "
                            "only for files you trust")
    group.add_argument("--custom-objects-module", default=None, metavar="MODULE",
                       help="a module name or .py file defining the model's custom layer classes "
                            "(its CUSTOM_OBJECTS dict, else every class and function it defines)")
    group.add_argument("--blocks-file", default=None, metavar="JSON",
                       help="JSON {block name: [layer-name regex, ...]} grouping layers into blocks "
                            "(default: every layer with weights is a block, batch norm folded in)")


def options_from_args(args):
    return {"trust_model_code": getattr(args, "trust_model_code", False),
            "custom_objects_module": getattr(args, "custom_objects_module", None),
            "blocks_file": getattr(args, "blocks_file", None)}


def load_from_args(args, spec=None):
    """The model ``spec`` (default ``args.model``) with the loading options of ``args``."""
    return load_model(args.model if spec is None else spec, **options_from_args(args))
