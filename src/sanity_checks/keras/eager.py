"""The eager bridge: a Keras model is loaded and run eagerly, and only its class, config, weights and
outputs on fixed probe inputs are kept (:class:`KerasSnapshot`) to rebuild and check it in our graph."""
import dataclasses
import os
import re

import numpy as np

from ..compat import tf, tf1
from ..errors import ModelError
from .flavours import keras_module, tf_keras_classes
from .layers import walk_layers
from .rebuild import pre_activation
from .safety import CUSTOM_OPTION, TRUST_OPTION, lambda_layers_with_code, safe_mode_scope
from .sources import keras_flavour, stored_config


PROBE_IMAGES = 4


def eager_mode():
    """Eager execution inside a process that runs tf.compat.v1 graphs (``disable_eager_execution``)."""
    return tf.__internal__.eager_context.eager_mode()


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
    probe: np.ndarray            # fixed inputs, in the range the model expects (probe_range)
    expected: np.ndarray         # the eager model's logits (pre-softmax/-sigmoid) for them
    source: str                  # file path or 'Keras model object'
    kind: str                    # 'keras', 'h5', 'savedmodel' or 'object'
    version: str


def snapshot_of(model, flavour, source, kind):
    """Class, config, weights and probe outputs of an eager Keras model."""
    keras = keras_module(flavour)
    if isinstance(model.inputs, (list, tuple)) and len(model.inputs) != 1:
        raise ModelError(f"{source}: the model has {len(model.inputs)} inputs; image classifiers with one input only")
    shape = tuple(model.inputs[0].shape)[1:]
    if len(shape) != 3 or any(d is None for d in shape):
        raise ModelError(f"{source}: the model's input shape is {(None,) + shape}; it needs a fixed (height, width, "
                         f"channels): build it with Input(shape=(H, W, C))")
    channels_first = [path for path, layer in walk_layers(model)
                      if getattr(layer, "data_format", None) == "channels_first"]
    if channels_first:
        raise ModelError(f"{source}: layer(s) {', '.join(channels_first[:4])}{', ...' if len(channels_first) > 4 else ''}"
                         f" compute channels-first (data_format='channels_first'); only channels-last models "
                         f"(N, height, width, channels) are supported: build it with data_format='channels_last'")
    try:
        config = model.get_config()
    except NotImplementedError:
        raise ModelError(f"{source}: {type(model).__name__} has no get_config (a subclassed model): "
                         f"build it as a functional or Sequential model") from None
    tf_keras_classes(model, eager=True)
    shape = tuple(int(d) for d in shape)
    low, high = probe_range(model)
    probe = np.random.default_rng(20180901).uniform(low, high, (PROBE_IMAGES,) + shape).astype(np.float32)
    expected = eager_logits(model, probe, source)
    return KerasSnapshot(flavour, type(model), config, [np.asarray(w) for w in model.get_weights()],
                         model.name, tuple(int(d) for d in shape), int(expected.shape[1]), probe, expected,
                         source, kind, getattr(keras, "__version__", "?"))


def probe_range(model):
    """The input range a Keras model expects, as far as its first layers say: (0, 255) when it starts with
    its own preprocessing from pixel values (a Rescaling by less than 1/10, or a Normalization whose mean
    is above 2: keras.applications' EfficientNet, MobileNetV3, ConvNeXt), else (-1, 1)."""
    for _, layer in walk_layers(model):
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        if cls == "Rescaling" and np.all(np.abs(np.asarray(layer.scale, np.float64)) < 0.1):
            return 0.0, 255.0
        try:
            mean = np.asarray(getattr(layer, "mean", None) if cls == "Normalization" else None, np.float64)
        except (TypeError, ValueError):   # not a number we can read: no guess from it
            mean = np.asarray(np.nan)
        if mean.size and np.max(mean) > 2:
            return 0.0, 255.0
        if cls not in ("Rescaling", "Normalization"):
            break
    return -1.0, 1.0


def eager_logits(model, probe, source):
    """The eager model's logits on ``probe``: its call traced once into a graph of its own (``wrap_function``,
    the model's variables captured), where the input of the final Softmax or Sigmoid op is found
    by the same rule as in our graph (``rebuild.pre_activation``) and computed."""
    spec = tf.TensorSpec((None,) + probe.shape[1:], tf.float32)
    traced = tf1.wrap_function(lambda images: model(images, training=False), [spec])
    if len(traced.outputs) != 1:
        raise ModelError(f"{source}: the model has several outputs; image classifiers with one output only")
    output = traced.outputs[0]
    if output.shape.rank != 2:
        raise ModelError(f"{source}: the model's output has shape {tuple(output.shape)}; it must be (batch, classes)")
    logits, _ = pre_activation(output)
    return np.asarray(traced.prune(traced.inputs[0], logits)(tf.constant(probe)))


def read_keras_file(path, trust_model_code=False, custom_objects=None):
    """Load a Keras source eagerly (never in our graph) and return its :class:`KerasSnapshot`."""
    flavour, kind = keras_flavour(path)
    lambdas = [name for config in stored_config(path, kind) for name in lambda_layers_with_code(config)]
    if lambdas and not trust_model_code:
        raise ModelError(f"{path}: Lambda layer(s) {', '.join(dict.fromkeys(lambdas))} carry Python code that would "
                         f"run when the model is built; pass {TRUST_OPTION} only if you trust this file")
    with eager_mode():
        keras = keras_module(flavour)
        kwargs = {"compile": False, "custom_objects": custom_objects or None}
        if kind == "keras" or flavour == "keras":
            kwargs["safe_mode"] = not trust_model_code
        try:
            with safe_mode_scope(flavour, trust_model_code):
                model = keras.models.load_model(path, **kwargs)
        except (ValueError, TypeError, KeyError, OSError, AttributeError) as err:
            message = " ".join(str(err).split())[:300]
            hint = f" (custom layer classes? name their module with {CUSTOM_OPTION})" \
                if re.search(r"[Uu]nknown|Could not locate|not found|deserializ", message) else ""
            raise ModelError(f"cannot load {path} with {keras.__name__} {keras.__version__}: {message}{hint}") from None
        return snapshot_of(model, flavour, os.path.abspath(path), kind)
