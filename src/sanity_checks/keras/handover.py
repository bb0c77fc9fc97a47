"""The user's Keras model handed to a method written for Keras (the Quantus convention,
``explain_func(model, inputs, targets)``): an eager copy, never the user's object or file.

The copy is rebuilt once per GraphModel from the config the eager bridge kept (``KerasSnapshot``), inside
``eager_mode()``, and before every hand-over it is given the weights the engine's session holds now (the
trained ones, or a randomization state's): read from the graph's variables in Keras' weights order,
written with Keras' own ``set_weights`` in eager mode (where, unlike graph mode, it assigns). A model
whose first layer compensates an input shift (input invariance, ``engines.tf_shift``) gets the same
compensation on the copy's layer when that layer takes the model's input itself: its output minus W m
before the activation, W m measured in each call at the call's shape (the layer on a constant image m
minus the layer on zeros; in the graph the bias is added after the subtraction: the two differ by
float32 rounding only).

The method itself runs inside :func:`~sanity_checks.keras.eager.eager_mode` (``GraphModel.framework_scope``):
the process runs tf.compat.v1 graphs with eager execution disabled, and a ``tf.GradientTape`` on the copy
needs eager execution.
"""
import copy

from ..compat import tf
from ..errors import ModelError
from .eager import eager_mode
from .flavours import keras_module, tf_keras_classes
from .layers import walk_layers
from .safety import safe_mode_scope


def _rebuild_eagerly(builder):
    snapshot = builder.snapshot
    keras = keras_module(snapshot.flavour)
    scope = keras.utils.custom_object_scope(builder.custom_objects) if builder.custom_objects else None
    config = copy.deepcopy(snapshot.config)   # Keras 3's Functional.from_config empties the dict it reads
    with safe_mode_scope(snapshot.flavour, builder.trusted):
        if scope is not None:
            with scope:
                model = snapshot.model_class.from_config(config)
        else:
            model = snapshot.model_class.from_config(config)
    layers = dict(walk_layers(model))
    for path, shift in builder.offsets.items():
        layer = layers[path]
        if not any(getattr(layer, "input", None) is given for given in model.inputs):
            raise ModelError(f"input invariance: the Keras copy handed to a Keras method compensates the shift "
                             f"only where the first layer takes the model's input itself; {path} follows other "
                             f"layers")
        _compensate_before_activation(layer, float(shift))
    return model


def _compensate_before_activation(layer, shift):
    """``layer`` (taking the model's input) computes ``(W (x + m) - W m) + b`` before its activation, as the
    graph's first layer does (``engines.tf_shift``): W m measured in each call at the call's own shape, as
    the layer's pre-activation output on a constant image m minus that on zeros. Conv and Dense of both
    Kerases apply ``self.activation`` last."""
    original = layer.call

    def call(inputs, *args, **kwargs):
        activation = layer.activation
        layer.activation = None
        try:
            out = original(inputs, *args, **kwargs)
            w_m = (original(tf.fill(tf.shape(inputs), tf.cast(shift, inputs.dtype)), *args, **kwargs)
                   - original(tf.zeros_like(inputs), *args, **kwargs))
        finally:
            layer.activation = activation
        out = out - w_m
        return activation(out) if activation is not None else out

    layer.call = call


def framework_model(model):
    """The eager Keras copy of ``model`` (a GraphModel of a Keras source), holding the weights the session
    holds now."""
    builder = model.architecture.build
    if getattr(builder, "snapshot", None) is None or builder.model is None:
        raise ModelError(f"{model.architecture.name} is no Keras model")
    names = builder.variable_names()
    values = model.get_weights()
    with eager_mode():
        eager = getattr(model, "_eager_keras_copy", None)
        if eager is None:
            eager = _rebuild_eagerly(builder)
            if len(eager.weights) != len(names):
                raise ModelError(f"{model.architecture.name}: the eager copy has {len(eager.weights)} weights, the "
                                 f"graph {len(names)}")
            model._eager_keras_copy = eager
        tf_keras_classes(eager, eager=True)   # tf-keras: the eager generation of its layer classes again
        eager.set_weights([values[name] for name in names])
    return eager


def framework_scope():
    """Where a method written for Keras runs: eager execution."""
    return eager_mode()
