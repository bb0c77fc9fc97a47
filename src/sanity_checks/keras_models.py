"""A user's Keras image classifier as a :class:`~sanity_checks.model.GraphModel`.

Sources: ``.keras`` and ``.h5`` files written by Keras 3 or by tf-keras, tf-keras SavedModel folders
(with ``keras_metadata.pb``), and Keras model objects in memory. Keras and tf-keras are imported
here only, and only when a Keras model is loaded.

Loading is the "eager bridge" (doc: ``shared/design/own-models.md``): the model is loaded inside
``eager_mode()``, where every Keras loads every format correctly, and only its class, config and
weights are kept; it is then rebuilt in our graph with ``from_config`` and the weights are assigned
through our own placeholder-fed assign ops on the backing ``tf.Variable``. Loading a Keras file
directly in graph mode gives random weights without any error for most formats, so after loading
the graph's output is compared with the eager model's on fixed probe inputs and the model is
refused when they differ by more than 1e-5.

Safe mode: a file's Python code never runs unless the user says so. ``Lambda`` layers that carry
bytecode are refused before Keras reads the file (``trust_model_code=True`` allows them), and
custom layer classes come only from a module the user names (``custom_objects_module``).

What is derived from the model, and how to override it:

- input shape and class count from the model; the explained score is the **pre-softmax logit**:
  when the output op is a Softmax (after Identity ops), its input;
- blocks, top first: every leaf layer with weights, batch normalization folded into the layer that
  feeds it, in the reverse of the order the model calls its layers; ``blocks`` / ``blocks_file``
  (``{block: [layer-name regex, ...]}``, each regex matched from the start of the layer's path,
  e.g. ``block_\\d+_``) groups layers into coarser blocks. Blocks list their variables explicitly;
- re-initialization draws each weight from its own layer's initializer (``layer.<weight>_initializer``,
  ``_kernel`` dropped), seeded per variable as for our models; batch-norm moving statistics stay;
- GradCAM's layer: the last layer with a 4-D output on the path to the logits (``--set
  gradcam.layer=NAME`` overrides it), recorded from the very call that built the graph;
- guided backprop: the guided tower is a second call of the same Keras model under the guided
  gradient overrides of Relu, Relu6 and LeakyRelu; layers whose activations have no guided form
  (PReLU, thresholded ReLU, ELU, swish, gelu, ...) are named in a warning.
"""
import dataclasses
import importlib
import importlib.util
import json
import os
import re
import sys
import warnings
import zipfile

import numpy as np

from .compat import tf, tf1
from .errors import ModelError
from .models import Architecture, Block

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
KERAS_METADATA = "keras_metadata.pb"
SAVED_MODEL = "saved_model.pb"
#: Logits of the rebuilt graph must equal the Keras model's eager output this closely.
PROBE_ATOL = 1e-5
PROBE_IMAGES = 4
TRUST_OPTION = "--trust-model-code"
CUSTOM_OPTION = "--custom-objects-module"


class GuidedCoverageWarning(UserWarning):
    """Layers whose activation has no guided-backprop rule: their ordinary gradient is used."""


def eager_mode():
    """Eager execution inside a process that runs tf.compat.v1 graphs (``disable_eager_execution``)."""
    return tf.__internal__.eager_context.eager_mode()


# ---------------------------------------------------------------------------------- what a path is

def is_keras_path(path):
    """Whether ``path`` names a Keras source: a ``.keras``/``.h5`` file name or a SavedModel folder."""
    path = os.fspath(path)
    if path.lower().endswith(KERAS_SUFFIXES):
        return True
    return os.path.isdir(path) and (os.path.isfile(os.path.join(path, SAVED_MODEL))
                                    or os.path.isfile(os.path.join(path, KERAS_METADATA)))


def is_keras_model(obj):
    """Whether ``obj`` is a Keras 3 or tf-keras model object (without importing either)."""
    for module_name in ("keras", "tf_keras"):
        module = sys.modules.get(module_name)
        if module is not None and isinstance(obj, module.Model):
            return True
    return False


def keras_flavour(path):
    """('keras' for Keras 3 | 'tf_keras', 'keras' | 'h5' | 'savedmodel'), read without loading the model."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, KERAS_METADATA)):
            return "tf_keras", "savedmodel"
        raise ModelError(
            f"{path} is a SavedModel without Keras metadata (Keras 3 model.export() or tf.saved_model.save): "
            f"its network is one opaque function whose gradients TensorFlow cannot take, so no check could be "
            f"trusted; save the Keras model itself instead, e.g. model.save('model.keras')")
    if not os.path.isfile(path):
        raise ModelError(f"Keras model file {path} does not exist")
    if path.lower().endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as archive:
                meta = json.loads(archive.read("metadata.json"))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
            raise ModelError(f"{path} is not a Keras .keras file ({err})") from None
        return _flavour_of_version(meta.get("keras_version"), path), "keras"
    try:
        import h5py
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version")
            has_config = "model_config" in f.attrs
    except OSError as err:
        raise ModelError(f"{path} is not an HDF5 file ({err})") from None
    if not has_config:
        raise ModelError(f"{path} holds weights only (no model_config): save the whole model "
                         f"(model.save('model.keras')), not model.save_weights")
    return _flavour_of_version(version.decode() if isinstance(version, bytes) else version, path), "h5"


def _flavour_of_version(version, path):
    if not version:
        raise ModelError(f"{path} does not say which Keras wrote it (no keras_version)")
    return "keras" if int(str(version).split(".")[0]) >= 3 else "tf_keras"


def stored_config(path, kind):
    """The model config stored in a Keras source, as JSON objects (read without building anything)."""
    if kind == "keras":
        with zipfile.ZipFile(path) as archive:
            return [json.loads(archive.read("config.json"))]
    if kind == "h5":
        import h5py
        with h5py.File(path, "r") as f:
            raw = f.attrs["model_config"]
        return [json.loads(raw.decode() if isinstance(raw, bytes) else raw)]
    try:
        from tf_keras.protobuf import saved_metadata_pb2
    except ImportError:
        from tf_keras.src.protobuf import saved_metadata_pb2
    meta = saved_metadata_pb2.SavedMetadata()
    with open(os.path.join(path, KERAS_METADATA), "rb") as f:
        meta.ParseFromString(f.read())
    return [json.loads(node.metadata) for node in meta.nodes if node.metadata]


def lambda_layers_with_code(config):
    """Names of the Lambda layers in a (nested) model config whose function is Python bytecode."""
    found = []

    def visit(node):
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda" and isinstance(node.get("config"), dict):
                cfg = node["config"]
                function = cfg.get("function")
                if cfg.get("function_type") == "lambda" or (
                        isinstance(function, dict) and function.get("class_name") == "__lambda__"):
                    found.append(cfg.get("name", "?"))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(config)
    return list(dict.fromkeys(found))


def custom_objects_from(module_spec):
    """{name: object} of a module the user named (a module name or a ``.py`` file): its ``CUSTOM_OBJECTS``
    dict, else every class and function defined in it."""
    if not module_spec:
        return {}
    try:
        if module_spec.endswith(".py"):
            if not os.path.isfile(module_spec):
                raise ModelError(f"custom objects module {module_spec} does not exist")
            name = os.path.splitext(os.path.basename(module_spec))[0]
            spec = importlib.util.spec_from_file_location(name, module_spec)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_spec)
    except ImportError as err:
        raise ModelError(f"cannot import custom objects module {module_spec}: {err}") from None
    if isinstance(getattr(module, "CUSTOM_OBJECTS", None), dict):
        return dict(module.CUSTOM_OBJECTS)
    return {name: obj for name, obj in vars(module).items()
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__}


def _keras_module(flavour):
    if flavour == "keras":
        import keras
        return keras
    import tf_keras
    return tf_keras


def _safe_mode_scope(flavour, trusted):
    """Both Kerases refuse to deserialize lambdas (also while rebuilding) unless safe mode is off."""
    import contextlib
    if not trusted:
        return contextlib.nullcontext()
    if flavour == "keras":
        from keras.src.saving.serialization_lib import SafeModeScope
    else:
        from tf_keras.src.saving.serialization_lib import SafeModeScope
    return SafeModeScope(False)


def _inference_phase(flavour):
    """tf-keras' ``from_config`` in graph mode calls every layer once on symbolic inputs with
    ``training=None``: BatchNormalization and Dropout then build a ``cond`` on the learning-phase
    placeholder with both branches (a quarter of a MobileNetV2's load time). Those ops are never run
    (our own call passes ``training=False``); a learning phase fixed at 0 while rebuilding builds only
    the inference branch."""
    import contextlib
    if flavour != "tf_keras":
        return contextlib.nullcontext()
    from tf_keras.src import backend
    scope = getattr(backend, "deprecated_internal_learning_phase_scope", None)
    return scope(0) if scope is not None else contextlib.nullcontext()


# ---------------------------------------------------------------------------------- the eager side

@dataclasses.dataclass
class KerasSnapshot:
    """What the eager bridge keeps of a Keras model: enough to rebuild and check it in a graph."""
    flavour: str                 # 'keras' (Keras 3) or 'tf_keras'
    model_class: type
    config: dict
    weights: list                # numpy arrays, in model.weights order
    name: str
    input_shape: tuple           # per image
    num_outputs: int
    probe: np.ndarray            # fixed inputs
    expected: np.ndarray         # the eager model's outputs for them
    source: str                  # file path or 'Keras model object'
    kind: str                    # 'keras', 'h5', 'savedmodel' or 'object'
    version: str


def snapshot_of(model, flavour, source, kind):
    """Class, config, weights and probe outputs of an eager Keras model."""
    keras = _keras_module(flavour)
    if isinstance(model.inputs, (list, tuple)) and len(model.inputs) != 1:
        raise ModelError(f"{source}: the model has {len(model.inputs)} inputs; image classifiers with one input only")
    shape = tuple(model.inputs[0].shape)[1:]
    if len(shape) != 3 or any(d is None for d in shape):
        raise ModelError(f"{source}: the model's input shape is {(None,) + shape}; it needs a fixed (height, width, "
                         f"channels): build it with Input(shape=(H, W, C))")
    try:
        config = model.get_config()
    except NotImplementedError:
        raise ModelError(f"{source}: {type(model).__name__} has no get_config (a subclassed model): "
                         f"build it as a functional or Sequential model") from None
    tf_keras_classes(model, eager=True)
    probe = np.random.default_rng(20180901).random((PROBE_IMAGES,) + tuple(int(d) for d in shape)).astype(np.float32)
    expected = model(probe, training=False)
    if isinstance(expected, (list, tuple, dict)):
        raise ModelError(f"{source}: the model has several outputs; image classifiers with one output only")
    expected = np.asarray(expected)
    if expected.ndim != 2:
        raise ModelError(f"{source}: the model's output has shape {expected.shape}; it must be (batch, classes)")
    return KerasSnapshot(flavour, type(model), config, [np.asarray(w) for w in model.get_weights()],
                         model.name, tuple(int(d) for d in shape), int(expected.shape[1]), probe, expected,
                         source, kind, getattr(keras, "__version__", "?"))


def read_keras_file(path, trust_model_code=False, custom_objects=None):
    """Load a Keras source eagerly (never in our graph) and return its :class:`KerasSnapshot`."""
    flavour, kind = keras_flavour(path)
    lambdas = [name for config in stored_config(path, kind) for name in lambda_layers_with_code(config)]
    if lambdas and not trust_model_code:
        raise ModelError(f"{path}: Lambda layer(s) {', '.join(dict.fromkeys(lambdas))} carry Python code that would "
                         f"run when the model is built; pass {TRUST_OPTION} only if you trust this file")
    with eager_mode():
        keras = _keras_module(flavour)
        kwargs = {"compile": False, "custom_objects": custom_objects or None}
        if kind == "keras" or flavour == "keras":
            kwargs["safe_mode"] = not trust_model_code
        try:
            with _safe_mode_scope(flavour, trust_model_code):
                model = keras.models.load_model(path, **kwargs)
        except (ValueError, TypeError, KeyError, OSError, AttributeError) as err:
            message = " ".join(str(err).split())[:300]
            hint = f" (custom layer classes? name their module with {CUSTOM_OPTION})" \
                if re.search(r"[Uu]nknown|Could not locate|not found|deserializ", message) else ""
            raise ModelError(f"cannot load {path} with {keras.__name__} {keras.__version__}: {message}{hint}") from None
        return snapshot_of(model, flavour, os.path.abspath(path), kind)


# ---------------------------------------------------------------------------------- the graph side

def _backing_variable(weight):
    """The tf.Variable behind a Keras weight (Keras 3 wraps one; tf-keras weights are tf.Variables)."""
    if isinstance(weight, tf.Variable):
        return weight
    value = getattr(weight, "value", None)
    if isinstance(value, tf.Variable):
        return value
    raise ModelError(f"cannot find the TensorFlow variable behind Keras weight {getattr(weight, 'path', weight)}")


def tf_keras_classes(model, eager):
    """Make ``model``'s tf-keras classes the eager (v2) or graph (v1) generation again.

    tf-keras swaps the base classes of its layer classes, process-wide, whenever a layer is made in
    the other mode (``version_utils.swap_class``): after a model is rebuilt in our graph, calling an
    eager model of the same classes fails ("Your Layer or Model is in an invalid state"), and the
    other way round. Called before every call of a tf-keras model; a no-op for Keras 3 models.
    """
    if not type(model).__module__.startswith("tf_keras"):
        return
    from tf_keras.src.engine import base_layer, base_layer_v1, training, training_v1
    from tf_keras.src.utils.version_utils import swap_class

    for layer in [model] + [layer for _, layer in _walk_layers(model)]:
        if isinstance(layer, (training.Model, training_v1.Model)):
            swap_class(type(layer), training.Model, training_v1.Model, eager)
        swap_class(type(layer), base_layer.Layer, base_layer_v1.Layer, eager)


def _is_container(layer):
    return hasattr(layer, "layers") and isinstance(getattr(layer, "layers", None), (list, tuple))


def _walk_layers(model, prefix=""):
    """(path, layer) for every layer, depth first, nested models' layers under ``<model name>/``."""
    for layer in model.layers:
        path = prefix + layer.name
        yield path, layer
        if _is_container(layer):
            yield from _walk_layers(layer, path + "/")


class KerasBuilder:
    """The ``build(inputs)`` of a Keras model's Architecture: the first call rebuilds the model in the
    default graph from its config; every call (the guided tower is the second) calls it on ``inputs``
    and records each layer's output of that very call.

    Records per call: ``outputs`` (the Keras output tensor), ``softmax_stripped``, and for each layer
    path its output and input tensors (``records``, in call order).
    """

    def __init__(self, snapshot, custom_objects=None, trust_model_code=False):
        self.snapshot, self.custom_objects, self.trusted = snapshot, dict(custom_objects or {}), trust_model_code
        self.model = None
        self.layer_paths = {}        # id(layer) -> path
        self.calls = []              # one dict per call
        self._recording = None

    def _rebuild(self):
        keras = _keras_module(self.snapshot.flavour)
        scope = keras.utils.custom_object_scope(self.custom_objects) if self.custom_objects else None
        try:
            with _safe_mode_scope(self.snapshot.flavour, self.trusted), _inference_phase(self.snapshot.flavour):
                if scope is not None:
                    with scope:
                        model = self.snapshot.model_class.from_config(self.snapshot.config)
                else:
                    model = self.snapshot.model_class.from_config(self.snapshot.config)
        except (ValueError, TypeError, KeyError, NotImplementedError) as err:
            raise ModelError(f"{self.snapshot.source}: cannot rebuild {self.snapshot.model_class.__name__} from its "
                             f"config: {' '.join(str(err).split())[:300]}") from None
        for path, layer in _walk_layers(model):
            self.layer_paths[id(layer)] = path
            self._wrap(layer, path)
        return model

    def _wrap(self, layer, path):
        original = layer.call
        builder = self

        def recorded_call(*args, **kwargs):
            out = original(*args, **kwargs)
            if builder._recording is not None and isinstance(out, tf.Tensor):
                first = args[0] if args else kwargs.get("inputs")
                builder._recording[path] = (out, first)
            return out

        layer.call = recorded_call

    def __call__(self, inputs):
        if self.model is None:
            self.model = self._rebuild()
        self._recording = {}
        tf_keras_classes(self.model, eager=False)
        try:
            outputs = self.model(inputs, training=False)
        finally:
            records, self._recording = self._recording, None
        if isinstance(outputs, (list, tuple)):
            raise ModelError(f"{self.snapshot.source}: the model has several outputs")
        logits, stripped = pre_softmax(outputs)
        self.calls.append({"outputs": outputs, "logits": logits, "softmax_stripped": stripped, "records": records})
        end_points = {path: out for path, (out, _) in records.items()}
        end_points["logits"] = logits
        return logits, end_points


def pre_softmax(outputs):
    """(the input of the model's final Softmax op (after Identity ops), True), or (outputs, False)."""
    op = outputs.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type == "Softmax":
        return op.inputs[0], True
    return outputs, False


def _ancestors(tensor):
    """Names of every op ``tensor`` depends on."""
    seen, stack = set(), [tensor.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return seen


def _passes_through(out, given):
    """Whether a layer's output is its input unchanged (the same tensor, or it through Identity ops)."""
    name = getattr(given, "name", None)
    tensor = out
    while True:
        if tensor.name == name:
            return True
        if tensor.op.type != "Identity" or not tensor.op.inputs:
            return False
        tensor = tensor.op.inputs[0]


def default_gradcam_layer(call):
    """The last recorded rank-4 layer output on the path to the logits, or None."""
    upstream = _ancestors(call["logits"])
    for path, (out, given) in reversed(list(call["records"].items())):
        passed_through = _passes_through(out, given)   # e.g. Dropout at inference
        if out.shape.rank == 4 and out.op.name in upstream and not passed_through:
            return path
    return None


def _short_weight_name(weight):
    name = getattr(weight, "path", None) or weight.name
    return name.split("/")[-1].split(":")[0]


def weight_initializer(layer, weight):
    """The layer's initializer of ``weight``: ``layer.<w>_initializer``, or with ``_kernel`` dropped."""
    short = _short_weight_name(weight)
    for attribute in (f"{short}_initializer", short.replace("_kernel", "") + "_initializer"):
        init = getattr(layer, attribute, None)
        if init is not None and hasattr(init, "get_config"):
            return init
    return None


class KerasInitializer:
    """A Keras initializer the :class:`~sanity_checks.randomize.Randomizer` can draw from with a seed:
    a fresh copy of the initializer with that seed, called eagerly."""

    def __init__(self, initializer):
        self.initializer = initializer

    def draw(self, shape, dtype, seed):
        config = dict(self.initializer.get_config())
        if "seed" in config:
            config["seed"] = int(seed)
        with eager_mode():
            fresh = type(self.initializer).from_config(config)
            return np.asarray(fresh(tuple(shape), dtype=tf.as_dtype(dtype).name))

    def __repr__(self):
        return f"KerasInitializer({type(self.initializer).__name__})"


#: Activations the guided tower overrides (op types; see model.GUIDED_OVERRIDES) and the Keras names
#: that produce them.
GUIDED_ACTIVATIONS = {"relu", "relu6", "leaky_relu", "linear", "softmax"}
UNGUIDED_LAYER_CLASSES = {"PReLU", "ELU", "ThresholdedReLU"}


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = getattr(activation, "__name__", None) or type(activation).__name__
    return name.lower()


def unguided_layers(builder):
    """Paths of layers whose activation has no guided-backprop form (PReLU, ELU, swish, gelu, ...)."""
    found = []
    for path, layer in _walk_layers(builder.model):
        cls = type(layer).__name__
        if cls in UNGUIDED_LAYER_CLASSES:
            found.append(f"{path} ({cls})")
        elif cls == "ReLU" and float(getattr(layer, "threshold", 0.0) or 0.0) != 0.0:
            found.append(f"{path} (thresholded ReLU)")
        else:
            name = _activation_name(layer)
            if name and name not in GUIDED_ACTIVATIONS and name not in ("sigmoid", "tanh", "hard_sigmoid"):
                found.append(f"{path} ({name})")
    return found


def derive_blocks(builder, groups=None):
    """Blocks, top first: each weighted leaf layer (batch norm folded into the layer feeding it), or the
    layer groups of ``groups`` ({block: [regex, ...]}, matched from the start of each layer path)."""
    call = builder.calls[0]
    records = call["records"]
    producer = {}   # output tensor name -> path
    for path, (out, _) in records.items():
        producer.setdefault(out.name, path)
    layers = dict(_walk_layers(builder.model))
    weighted = [path for path in records if path in layers and not _is_container(layers[path])
                and layers[path].weights]
    units = {}      # host path -> [paths]
    order = []
    for path in weighted:
        layer = layers[path]
        host = path
        if type(layer).__name__ in ("BatchNormalization", "SyncBatchNormalization"):
            source = records[path][1]
            feeding = producer.get(getattr(source, "name", None))
            if feeding in units:
                host = feeding
        if host == path:
            units[path] = [path]
            order.append(path)
        else:
            units[host].append(path)
    # Layers with weights the call never reached (e.g. a head not on the output's path) are no block.
    def variables_of(paths):
        return tuple(_backing_variable(w).op.name for p in paths for w in layers[p].weights)

    blocks = []
    if groups:
        compiled = {name: [re.compile(p) for p in patterns] for name, patterns in groups.items()}
        assigned = {}
        for host in order:
            for name, patterns in compiled.items():
                if any(p.match(path) for path in units[host] for p in patterns):
                    assigned.setdefault(name, []).append(host)
                    break
        empty = [name for name in groups if name not in assigned]
        if empty:
            raise ModelError(f"blocks {', '.join(empty)} match no layer with weights; layers: "
                             + ", ".join(order[:12]) + (", ..." if len(order) > 12 else ""))
        placed, seen = [], set()   # a group sits where its topmost layer is: scan top first
        for host in reversed(order):
            name = next((n for n, hosts in assigned.items() if host in hosts), host)
            if name not in seen:
                seen.add(name)
                placed.append(name)
        for name in placed:
            hosts = assigned.get(name, [name])
            blocks.append(Block(name, variables=variables_of([p for h in hosts for p in units[h]])))
        return tuple(blocks)
    for host in reversed(order):
        blocks.append(Block(host, variables=variables_of(units[host])))
    return tuple(blocks)


def read_blocks_file(path):
    if path is None:
        return None
    try:
        with open(path) as f:
            groups = json.load(f)
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read blocks file {path}: {err}") from None
    if not isinstance(groups, dict) or not all(isinstance(v, (list, str)) for v in groups.values()):
        raise ModelError(f"{path} must hold a JSON object {{block name: [layer-name regex, ...]}}")
    return {name: [patterns] if isinstance(patterns, str) else list(patterns) for name, patterns in groups.items()}


def _session_config():
    """oneDNN's remapper fuses e.g. BiasAdd + LeakyRelu and then cannot fetch the BiasAdd output
    on its own (TF 2.21: "... not found in either feed_devices or fetch_devices"): off for Keras models."""
    from tensorflow.core.protobuf import rewriter_config_pb2
    config = tf1.ConfigProto()
    config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return config


def _batch_size(input_shape):
    """Images per session.run: about 2M input floats, between 8 and 256."""
    return int(min(256, max(8, 2_000_000 // int(np.prod(input_shape)))))


def graph_model(snapshot, custom_objects=None, trust_model_code=False, groups=None, log=print):
    """Rebuild a :class:`KerasSnapshot` in a new :class:`GraphModel`, assign its weights, check it."""
    from .model import GraphModel

    builder = KerasBuilder(snapshot, custom_objects, trust_model_code)
    architecture = Architecture(
        name=snapshot.name, build=builder, input_shape=snapshot.input_shape, num_classes=snapshot.num_outputs,
        blocks=(), gradcam_layer=None, batch_size=_batch_size(snapshot.input_shape),
        description=f"{'Keras 3' if snapshot.flavour == 'keras' else 'tf-keras'} {snapshot.version} model "
                    f"{snapshot.name!r} ({snapshot.source})")
    model = GraphModel(architecture, session_config=_session_config())
    try:
        weights = builder.model.weights
        if len(weights) != len(snapshot.weights):
            raise ModelError(f"{snapshot.source}: the rebuilt model has {len(weights)} weights, the file "
                             f"{len(snapshot.weights)}")
        names = [_backing_variable(w).op.name for w in weights]
        model.set_weights(dict(zip(names, snapshot.weights)))
        check_against_eager(model, builder, snapshot)
        call = builder.calls[0]
        model.architecture = dataclasses.replace(
            architecture, blocks=derive_blocks(builder, groups), gradcam_layer=default_gradcam_layer(call))
        layers = dict(_walk_layers(builder.model))
        for path, layer in layers.items():
            if _is_container(layer):
                continue
            for w in layer.weights:
                init = weight_initializer(layer, w)
                if init is not None:
                    model.initializers[_backing_variable(w).op.name] = KerasInitializer(init)
        unguided = unguided_layers(builder)
        model.keras_model = builder.model
        model.keras_weight_variables = [_backing_variable(w) for w in weights]   # in Keras' weights order
        model.metadata = {
            "architecture": snapshot.name, "source": "keras", "keras": f"{snapshot.flavour} {snapshot.version}",
            "format": snapshot.kind, "path": snapshot.source, "data": None, "labels": None,
            "explained": "pre-softmax logits (the input of the final Softmax)" if call["softmax_stripped"]
            else "the model's output", "blocks": len(model.architecture.blocks),
            "gradcam_layer": model.architecture.gradcam_layer, "unguided_layers": unguided}
    except BaseException:
        model.close()
        raise
    if call["softmax_stripped"]:
        log(f"note: {snapshot.name} ends in a softmax: the explained score is its input, the pre-softmax logit")
    if model.architecture.gradcam_layer is None:
        log(f"note: {snapshot.name} has no layer with a 4-D output on the path to its logits: no GradCAM")
    if unguided:
        warnings.warn(f"guided backprop: no guided gradient for the activations of {', '.join(unguided[:8])}"
                      + (f" and {len(unguided) - 8} more" if len(unguided) > 8 else "")
                      + "; their ordinary gradient is used", GuidedCoverageWarning, stacklevel=2)
    return model


def check_against_eager(model, builder, snapshot, atol=PROBE_ATOL):
    """Refuse the model unless the graph's output equals the eager Keras model's on the probe inputs."""
    outputs = builder.calls[0]["outputs"]
    got = model.session.run(outputs, {model.inputs: snapshot.probe})
    difference = float(np.max(np.abs(got - snapshot.expected))) if got.shape == snapshot.expected.shape else np.inf
    if not difference <= atol:
        raise ModelError(f"{snapshot.source}: the rebuilt graph's output differs from the Keras model's own by "
                         f"{difference:.3g} (> {atol:g}) on the probe inputs: the weights did not load right; "
                         f"refusing to check this model")


def load_keras(source, trust_model_code=False, custom_objects_module=None, blocks_file=None, blocks=None,
               log=print):
    """A :class:`GraphModel` of a Keras file, tf-keras SavedModel folder, or Keras model object.

    Args:
        source: a path, or a Keras 3 / tf-keras model object (its weights are copied; the object is not
            changed and later changes to it do not reach the GraphModel).
        trust_model_code: allow Lambda layers that carry Python bytecode (it runs while loading).
        custom_objects_module: a module name or ``.py`` file with the model's custom layer classes.
        blocks_file / blocks: layer groups ``{block: [regex, ...]}`` (a JSON file or a dict).
        log: where the notes about what was derived go.
    """
    custom = custom_objects_from(custom_objects_module)
    if blocks_file is not None:
        blocks = read_blocks_file(blocks_file)
    if isinstance(source, (str, os.PathLike)):
        snapshot = read_keras_file(os.fspath(source), trust_model_code, custom)
    else:
        flavour = "tf_keras" if type(source).__module__.startswith("tf_keras") else "keras"
        name = f"Keras model object {source.name!r}"
        with eager_mode():
            try:
                snapshot = snapshot_of(source, flavour, name, "object")
            except ModelError:
                raise
            except Exception as err:   # e.g. a model built in graph mode, whose weights live in a graph
                raise ModelError(f"{name} cannot be run eagerly ({type(err).__name__}: {str(err)[:200]}): build or "
                                 f"load it inside sanity_checks.keras_models.eager_mode()") from None
    return graph_model(snapshot, custom, trust_model_code, blocks, log)
