"""The graph side: a :class:`KerasSnapshot` rebuilt in the default graph from its config, called on our
inputs, with each layer's output of that very call recorded (:class:`KerasBuilder`)."""
from ..compat import tf
from ..errors import ModelError
from .flavours import keras_module, tf_keras_classes
from .layers import walk_layers, walk_operations
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

    Records per call: ``outputs`` (the Keras output tensor), ``softmax_stripped``, and for each layer
    path (and each Keras 3 operation that is no layer, e.g. ConvNeXt's ``inputs + x``) its output and
    input tensors (``records``, in call order). The end points are these paths and nothing else: the
    toolkit adds no name of its own, so no user layer (MobileNetV3's conv ``logits``) is shadowed.
    """

    def __init__(self, snapshot, custom_objects=None, trust_model_code=False):
        self.snapshot, self.custom_objects, self.trusted = snapshot, dict(custom_objects or {}), trust_model_code
        self.model = None
        self.layer_paths = {}        # id(layer) -> path
        self.calls = []              # one dict per call
        self._recording = None

    def _rebuild(self):
        keras = keras_module(self.snapshot.flavour)
        scope = keras.utils.custom_object_scope(self.custom_objects) if self.custom_objects else None
        try:
            with safe_mode_scope(self.snapshot.flavour, self.trusted), _inference_phase(self.snapshot.flavour):
                if scope is not None:
                    with scope:
                        model = self.snapshot.model_class.from_config(self.snapshot.config)
                else:
                    model = self.snapshot.model_class.from_config(self.snapshot.config)
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
        return logits, end_points


def pre_softmax(outputs):
    """(the input of the model's final Softmax op (after Identity ops), True), or (outputs, False)."""
    op = outputs.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type == "Softmax":
        return op.inputs[0], True
    return outputs, False
