"""The graph side: a :class:`KerasSnapshot` rebuilt in the default graph from its config, called on our
inputs, with each layer's output of that very call recorded (:class:`KerasBuilder`)."""
import copy

from ..compat import tf, tf1
from ..errors import ModelError, UnsupportedError
from .flavours import keras_module, tf_keras_classes
from .layers import backing_variable, is_container, walk_layers, walk_operations
from .safety import safe_mode_scope


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


class KerasBuilder:
    """The ``build(inputs)`` of a Keras model's Architecture: the first call rebuilds the model in the
    default graph from its config; every call (the guided tower is the second) calls it on ``inputs``
    and records each layer's output of that very call.

    Records per call: ``outputs`` (the Keras output tensor), ``stripped`` (the final activation looked
    through, "Softmax" or "Sigmoid", else None), and for each layer
    path (and each Keras 3 operation that is no layer, e.g. ConvNeXt's ``inputs + x``) its output and
    input tensors (``records``, in call order). The end points are these paths and nothing else: the
    toolkit adds no name of its own, so no user layer (MobileNetV3's conv ``logits``) is shadowed.

    ``offsets`` ({layer path: shift m}): that layer, the first, computes (W (x + m) - W m) + b before its
    activation, W m measured in each call (the input-invariance compensation of :meth:`with_offset`).
    """

    def __init__(self, snapshot, custom_objects=None, trust_model_code=False, offsets=None):
        self.snapshot, self.custom_objects, self.trusted = snapshot, dict(custom_objects or {}), trust_model_code
        self.offsets = dict(offsets or {})
        self.model = None
        self.layer_paths = {}        # id(layer) -> path
        self.calls = []              # one dict per call
        self._recording = None
        self._inputs = None          # the inputs of the call under way

    def _rebuild(self):
        keras = keras_module(self.snapshot.flavour)
        scope = keras.utils.custom_object_scope(self.custom_objects) if self.custom_objects else None
        config = copy.deepcopy(self.snapshot.config)   # Keras 3's Functional.from_config empties the dict it reads
        try:
            with safe_mode_scope(self.snapshot.flavour, self.trusted), _inference_phase(self.snapshot.flavour):
                if scope is not None:
                    with scope:
                        model = self.snapshot.model_class.from_config(config)
                else:
                    model = self.snapshot.model_class.from_config(config)
        except (ValueError, TypeError, KeyError, NotImplementedError) as err:
            raise ModelError(f"{self.snapshot.source}: cannot rebuild {self.snapshot.model_class.__name__} from its "
                             f"config: {' '.join(str(err).split())[:300]}") from None
        for path, layer in walk_layers(model):
            self.layer_paths[id(layer)] = path
            self._wrap(layer, path)
        for path, operation in walk_operations(model):
            self._wrap(operation, path)
        return model

    def _wrap(self, layer, path):
        original = layer.call if path not in self.offsets else _offset_call(self, layer, path, self.offsets[path])
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
        self._recording, self._inputs = {}, inputs
        tf_keras_classes(self.model, eager=False)
        try:
            outputs = self.model(inputs, training=False)
        finally:
            records, self._recording, self._inputs = self._recording, None, None
        if isinstance(outputs, (list, tuple)):
            raise ModelError(f"{self.snapshot.source}: the model has several outputs")
        logits, stripped = pre_activation(outputs)
        self.calls.append({"outputs": outputs, "logits": logits, "stripped": stripped, "records": records})
        end_points = {path: out for path, (out, _) in records.items()}
        return logits, end_points

    def variable_names(self):
        """The names of the model's variables in Keras' weights order (a rebuild in another graph may name
        auto-named weights differently, e.g. LayerScale's ``variable_18``)."""
        return [backing_variable(w).op.name for w in self.model.weights]

    def owner_of(self, variable_name):
        """The path of the leaf layer that holds the variable called ``variable_name``."""
        for path, layer in walk_layers(self.model):
            if not is_container(layer) and any(backing_variable(w).op.name == variable_name for w in layer.weights):
                return path
        raise ModelError(f"no layer holds variable {variable_name}")

    def with_offset(self, variable_name, shift):
        """A new builder of the same model (for another graph) whose layer holding ``variable_name`` (its
        bias) computes ``activation((W (x + m) - W m) + b)`` for the constant input shift m = ``shift``, W m
        measured in each call (``engines.tf_shift.compensate``): in effect the bias b becomes b - W m."""
        return KerasBuilder(self.snapshot, self.custom_objects, self.trusted,
                            offsets={self.owner_of(variable_name): float(shift)})


def _offset_call(builder, layer, path, shift):
    """``layer.call`` with its pre-activation output compensating the input shift ``shift`` (the model's
    input is ``builder``'s call's; Conv and Dense layers of both Kerases apply ``self.activation`` last, when
    it is not None)."""
    if not hasattr(layer, "activation"):
        raise UnsupportedError(f"input invariance: layer {path} ({type(layer).__name__}) has no activation "
                               f"attribute, so its bias cannot be offset before it")
    original = layer.call

    def call(*args, **kwargs):
        from ..engines.tf_shift import compensate

        graph = tf1.get_default_graph()
        known = {op.name for op in graph.get_operations()}
        activation = layer.activation
        layer.activation = None
        try:
            out = original(*args, **kwargs)
        finally:
            layer.activation = activation
        names = {len(w.shape): backing_variable(w).op.name for w in layer.weights}
        new_ops = [op for op in graph.get_operations() if op.name not in known]
        weights = names.get(4, names.get(2))
        out = compensate(new_ops, builder._inputs, weights, names.get(1), shift, [out])[0]   # keeps the ties
        return activation(out) if activation is not None else out

    return call


#: Final output activations looked through: the explained score is their input, the logit, as Captum and
#: Quantus users explain it (a probability saturates: its gradient vanishes where the model is sure).
LOGIT_ACTIVATIONS = ("Softmax", "Sigmoid")


def pre_activation(outputs):
    """(the input of the model's final Softmax or Sigmoid op (after Identity ops), that op's type), or
    (outputs, None)."""
    op = outputs.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type in LOGIT_ACTIVATIONS:
        return op.inputs[0], op.type
    return outputs, None
