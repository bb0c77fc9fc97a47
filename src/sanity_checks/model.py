"""The TensorFlow engine of the model contract: one graph, one session, batched calls.

:class:`GraphModel` owns a ``tf.Graph`` built once from an :class:`~sanity_checks.contract.Architecture`
and a session holding its weights. Everything above it (methods, randomization, checks, experiments)
talks to it only through the calls that :mod:`sanity_checks.contract` declares:

- ``predict_logits(x)``;
- ``input_gradients(x, classes, guided=False)``: d logit[class] / d input, one class per image;
- ``layer_values_and_gradients(x, classes, layer)``: activations of a named end point and the
  gradient of the class logit with respect to them (GradCAM);
- ``parameters()``, ``get_weights()``, ``set_weights()``, ``initial_value()`` (through assign ops
  prepared once, and re-draws from each variable's own initializer, ``engines.tf_initializers``);
- ``shifted_input_model(shift)``: input invariance (``engines.tf_shift``).

Guided backprop is a second "tower" of the same network built once in the same graph, sharing its
variables, with the gradients of Relu, Relu6 and LeakyRelu overridden (``GUIDED_OVERRIDES``): it always sees the
weights the session holds now (including randomized ones), and nothing is written to disk.
"""
import json
import os

import numpy as np

from .compat import native_banner_filtered, tf, tf1
from .contract import Model, Parameter
from .errors import ModelError
from .models import Architecture, get_architecture

CHECKPOINT_NAME = "model.ckpt"
METADATA_NAME = "metadata.json"
GUIDED_RELU = "SanityChecksGuidedRelu"
GUIDED_RELU6 = "SanityChecksGuidedRelu6"
GUIDED_LEAKY_RELU = "SanityChecksGuidedLeakyRelu"
#: The activation ops the guided tower overrides, and the guided gradient each gets: only positive
#: gradients pass, and only through active units (Springenberg et al.). Relu is what our networks
#: use; Relu6 (MobileNetV2) and LeakyRelu come with users' Keras models.
GUIDED_OVERRIDES = {"Relu": GUIDED_RELU, "Relu6": GUIDED_RELU6, "LeakyRelu": GUIDED_LEAKY_RELU}


def _register_guided_gradients():
    """Guided ReLU gradient (Springenberg et al.): pass only positive gradients through active units."""
    def guided_relu(op, grad):
        gate_grad = tf.cast(grad > 0.0, grad.dtype)
        gate_act = tf.cast(op.outputs[0] > 0.0, grad.dtype)
        return gate_grad * gate_act * grad

    def guided_relu6(op, grad):
        return tf.raw_ops.Relu6Grad(gradients=tf.nn.relu(grad), features=op.inputs[0])

    def guided_leaky_relu(op, grad):
        return tf.raw_ops.LeakyReluGrad(gradients=tf.nn.relu(grad), features=op.inputs[0],
                                        alpha=op.get_attr("alpha"))

    for name, function in ((GUIDED_RELU, guided_relu), (GUIDED_RELU6, guided_relu6),
                           (GUIDED_LEAKY_RELU, guided_leaky_relu)):
        try:
            tf.RegisterGradient(name)(function)
        except KeyError:  # already registered (module reloaded)
            pass


_register_guided_gradients()


class GraphModel(Model):
    """A network built once in its own graph and session: the TensorFlow engine of the model contract
    (:class:`~sanity_checks.contract.Model`).

    Attributes beside the contract's: ``graph``, ``session``, ``inputs``/``classes`` (placeholders),
    ``logits``, ``end_points`` ({name: tensor}), ``variables``, ``initializers`` ({variable name:
    initializer}); a Keras model also carries ``keras_model`` and ``keras_weight_variables`` (its
    variables in Keras' weights order), set by ``sanity_checks.keras``.

    Args:
        architecture: an :class:`Architecture` or its registered name ('cnn', 'mlp', ...).
        seed: graph-level TensorFlow seed; the same seed gives the same initial weights.
        session_config: a ``tf1.ConfigProto`` for the session (default: TensorFlow's).
    """

    def __init__(self, architecture, seed=None, session_config=None):
        if isinstance(architecture, str):
            architecture = get_architecture(architecture)
        self.architecture: Architecture = architecture
        self.session_config = session_config
        self.metadata = {}
        self.keras_model = None
        self.keras_weight_variables = None
        self.graph = tf.Graph()
        with self.graph.as_default():
            if seed is not None:
                tf1.set_random_seed(seed)
            self.inputs = tf1.placeholder(tf.float32, (None,) + tuple(architecture.input_shape), name="inputs")
            self.classes = tf1.placeholder(tf.int32, [None], name="classes")
            self.initializers = {}
            with tf1.variable_scope(tf1.get_variable_scope(), custom_getter=self._record_initializer):
                self.logits, self.end_points = architecture.build(self.inputs)
            self.variables = list(tf1.global_variables())
            self._input_gradient = tf.gradients(self._class_logit_sum(self.logits), self.inputs)[0]
            with native_banner_filtered():   # the first session probes CUDA and says so on stderr
                self.session = tf1.Session(graph=self.graph, config=session_config)
            self.session.run(tf1.variables_initializer(self.variables))
        self._layer_gradients = {}
        self._guided = None
        self._assign_ops = None
        self._parameters = None

    def _record_initializer(self, getter, name, *args, **kwargs):
        """Custom getter: remember each variable's initializer so randomization can re-draw it."""
        var = getter(name, *args, **kwargs)
        self.initializers.setdefault(var.op.name, kwargs.get("initializer"))
        return var

    # ---------------------------------------------------------------- graph helpers
    def _class_logit_sum(self, logits):
        """Sum over the batch of each image's own class logit: its gradient is per image."""
        picked = tf.gather(logits, self.classes, axis=1, batch_dims=1)
        return tf.reduce_sum(picked)

    def _guided_gradient(self):
        if self._guided is None:
            with self.graph.as_default(), self.graph.gradient_override_map(GUIDED_OVERRIDES), \
                    tf1.variable_scope(tf1.get_variable_scope(), reuse=True), tf1.name_scope("guided"):
                logits, _ = self.architecture.build(self.inputs)
                self._guided_logits = logits
                self._guided = tf.gradients(self._class_logit_sum(logits), self.inputs)[0]
        return self._guided

    def _layer_gradient(self, layer):
        if layer not in self.end_points:
            raise ModelError(f"unknown layer {layer!r}; valid layers: {', '.join(self.end_points)}")
        if layer not in self._layer_gradients:
            with self.graph.as_default():
                values = self.end_points[layer]
                self._layer_gradients[layer] = (values, tf.gradients(self._class_logit_sum(self.logits), values)[0])
        return self._layer_gradients[layer]

    def _run(self, fetches, x, classes=None, batch_size=None):
        """Run ``fetches`` over ``x`` in chunks of ``batch_size`` images; concatenates each fetch."""
        x = self.check_images(x)
        batch_size = batch_size or self.architecture.batch_size
        single = not isinstance(fetches, (list, tuple))
        fetches = [fetches] if single else list(fetches)
        outputs = [[] for _ in fetches]
        for start in range(0, len(x), batch_size):
            feed = {self.inputs: x[start:start + batch_size]}
            if classes is not None:
                feed[self.classes] = classes[start:start + batch_size]
            for out, value in zip(outputs, self.session.run(fetches, feed)):
                out.append(value)
        results = [np.concatenate(o) if o else np.zeros((0,)) for o in outputs]
        return results[0] if single else results

    # ---------------------------------------------------------------- the contract's calls
    def predict_logits(self, x, batch_size=None):
        """(N, *input_shape) -> (N, num_classes) pre-softmax logits."""
        return self._run(self.logits, x, batch_size=batch_size)

    def input_gradients(self, x, classes, guided=False, batch_size=None):
        """Gradient of each image's class logit w.r.t. its input: (N, *input_shape).

        ``guided=True`` uses guided-backprop ReLU gradients (same weights, same session).
        """
        x = self.check_images(x)
        classes = self.check_classes(classes, len(x))
        tensor = self._guided_gradient() if guided else self._input_gradient
        return self._run(tensor, x, classes, batch_size)

    def layer_shapes(self):
        """{end point: per-image shape (None where the graph does not know it)}."""
        return {name: tuple(t.shape.as_list()[1:]) if t.shape.rank is not None else None
                for name, t in self.end_points.items()}

    def layer_values_and_gradients(self, x, classes, layer, batch_size=None):
        """Activations of end point ``layer`` and d logit[class] / d activations, both (N, *layer_shape)."""
        x = self.check_images(x)
        classes = self.check_classes(classes, len(x))
        values, grads = self._layer_gradient(layer)
        return self._run([values, grads], x, classes, batch_size)

    # ---------------------------------------------------------------- parameters
    def parameters(self):
        """A :class:`~sanity_checks.contract.Parameter` per variable, in the graph's order."""
        if self._parameters is None:
            self._parameters = [Parameter(v.op.name, tuple(v.shape.as_list()), v.dtype.base_dtype.name,
                                          bool(v.trainable)) for v in self.variables]
        return self._parameters

    def initial_value(self, name, seed):
        """A fresh draw of variable ``name`` from the initializer it was created with (TensorFlow's own
        objects, in a throwaway graph; Keras layers' initializers for Keras models), seeded by ``seed``."""
        from .engines.tf_initializers import draw_from_initializer

        parameter = self.parameter(name)
        return draw_from_initializer(self.initializers.get(name), parameter.shape, tf.as_dtype(parameter.dtype),
                                     seed)

    @property
    def guided_equals_gradient(self):
        """Whether no op on the path to the logits is one the guided tower overrides (:data:`GUIDED_OVERRIDES`):
        Guided BackProp then equals Gradient (a model with swish, GELU or hard-swish activations only)."""
        if getattr(self, "_guided_equals", None) is None:
            seen, stack, found = set(), [self.logits.op], False
            while stack and not found:
                op = stack.pop()
                if op.name not in seen:
                    seen.add(op.name)
                    found = op.type in GUIDED_OVERRIDES
                    stack.extend(t.op for t in op.inputs)
            self._guided_equals = not found
        return self._guided_equals

    @property
    def framework(self):
        """'keras' for a user's Keras model (its eager copy is handed to Quantus-style methods), else None."""
        return "keras" if getattr(self.architecture.build, "snapshot", None) is not None else None

    def framework_model(self):
        """A Keras model's eager copy holding the weights the session holds now (``keras.handover``)."""
        from .keras import handover
        return handover.framework_model(self) if self.framework else super().framework_model()

    def framework_scope(self):
        from .keras import handover
        return handover.framework_scope() if self.framework else super().framework_scope()

    def shifted_input_model(self, shift):
        """(a GraphModel with the same weights whose first-layer bias compensates ``shift``, the bias's
        name); see :mod:`sanity_checks.engines.tf_shift`."""
        from .engines.tf_shift import shifted_model

        return shifted_model(self, shift)

    def get_weights(self):
        """{variable name: numpy array} for every model variable (a snapshot in memory)."""
        return dict(zip([v.op.name for v in self.variables], self.session.run(self.variables)))

    def set_weights(self, values):
        """Assign {variable name: array} in memory through assign ops prepared once (no new graph ops)."""
        if self._assign_ops is None:
            with self.graph.as_default(), tf1.name_scope("set_weights"):
                self._assign_ops = {}
                for v in self.variables:
                    value = tf1.placeholder(v.dtype.base_dtype, v.shape)
                    self._assign_ops[v.op.name] = (value, v.assign(value, read_value=False))
        unknown = set(values) - set(self._assign_ops)
        if unknown:
            raise ModelError(f"no such variables: {', '.join(sorted(unknown))}")
        ops, feed = [], {}
        for name, value in values.items():
            placeholder, op = self._assign_ops[name]
            ops.append(op)
            feed[placeholder] = value
        self.session.run(ops, feed)

    def save(self, folder, metadata=None):
        """Write checkpoint + metadata to ``folder`` atomically (a temp folder renamed into place)."""
        from .files import atomic_folder

        with atomic_folder(folder) as tmp:
            with self.graph.as_default():
                saver = tf1.train.Saver(var_list=self.variables, max_to_keep=1)
            saver.save(self.session, os.path.join(tmp, CHECKPOINT_NAME), write_meta_graph=False)
            with open(os.path.join(tmp, METADATA_NAME), "w") as f:
                json.dump({"architecture": self.architecture.name, **(metadata or {})}, f, indent=2, sort_keys=True)
        return folder

    def restore(self, checkpoint_prefix, remedy=None):
        """Read weights from a checkpoint (read only: the files are never written).

        Variable names and shapes are compared first: a checkpoint that lacks any of the model's
        variables, or holds one with another shape, raises :class:`ModelError` naming them. A
        checkpoint whose files cannot be read (truncated, corrupt) raises :class:`ModelError` naming
        the file, followed by ``remedy`` (how to get a good copy) when given.
        """
        mismatches = checkpoint_mismatches(checkpoint_prefix, self.variables, remedy=remedy)
        if mismatches:
            raise ModelError(f"{checkpoint_prefix} does not fit {self.architecture.name} "
                             f"({self.architecture.num_classes} classes): " + mismatches)
        with self.graph.as_default():
            saver = tf1.train.Saver(var_list=self.variables)
        try:
            saver.restore(self.session, checkpoint_prefix)
        except tf.errors.OpError as err:
            raise ModelError(damaged_checkpoint_message(checkpoint_prefix, err, remedy)) from None

    def close(self):
        self.session.close()
        self.__dict__.pop("_eager_keras_copy", None)   # a Keras model's eager copy (keras.handover)


def damaged_checkpoint_message(checkpoint_prefix, err, remedy=None):
    """One line for a checkpoint TensorFlow could not read: which file, its size, TensorFlow's reason
    (without the graph's stack trace) and ``remedy``, e.g. 'retrain it: python src/train_cnn_models.py ...'.

    The index (``.index``) is read first, when names and shapes are compared, so a failure while
    restoring lies in the data file(s) (``.data-*``); a V1 checkpoint is a single file.
    """
    import glob

    data_files = sorted(glob.glob(glob.escape(checkpoint_prefix) + ".data-*"))
    if data_files:
        named = " or ".join(f"{f} ({os.path.getsize(f):,} bytes)" for f in data_files)
        where = f"{'its data file ' if len(data_files) == 1 else 'one of its data files '}{named}"
    elif os.path.isfile(checkpoint_prefix):
        where = f"the file {checkpoint_prefix} ({os.path.getsize(checkpoint_prefix):,} bytes)"
    else:
        where = "its files"
    text = (f"checkpoint {checkpoint_prefix} is damaged: {where} could not be read "
            f"({tensorflow_reason(err)}); it is truncated or corrupt")
    return text + (f"; {remedy}" if remedy else "")


def tensorflow_reason(err):
    """The cause in a TensorFlow error message, without 'Graph execution error', the node and its trace."""
    text = getattr(err, "message", None) or str(err)
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line[:1].isspace() and not line.startswith(
                 ("Graph execution error", "Detected at node", "Node:", "[[", "File "))]
    return lines[-1] if lines else type(err).__name__


def checkpoint_mismatches(checkpoint_prefix, variables, show=8, remedy=None):
    """'' if the checkpoint holds every variable with its shape, else a one-line description.

    Works for V1 and V2 checkpoints (``tf1.train.list_variables``); extra checkpoint variables
    (e.g. a training step counter) are allowed. An unreadable checkpoint raises :class:`ModelError`
    (followed by ``remedy`` when given).
    """
    try:
        stored = {name: list(shape) for name, shape in tf1.train.list_variables(checkpoint_prefix)}
    except (tf.errors.OpError, ValueError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"cannot read checkpoint {checkpoint_prefix}: {message}"
                         + (f"; {remedy}" if remedy else "")) from None
    bad = []
    for v in variables:
        name, shape = v.op.name, v.shape.as_list()
        if name not in stored:
            bad.append(f"{name} (not in the checkpoint)")
        elif stored[name] != shape:
            bad.append(f"{name} (checkpoint {stored[name]}, model {shape})")
    if not bad:
        return ""
    text = f"{len(bad)} of {len(variables)} variables do not match: " + ", ".join(bad[:show])
    if len(bad) > show:
        text += f", and {len(bad) - show} more"
    if len(bad) == len(variables):
        names = sorted(stored)
        text += f"; the checkpoint holds {len(names)} variables: " + ", ".join(names[:show]) + \
            (", ..." if len(names) > show else "")
    return text


def read_metadata(folder):
    path = os.path.join(folder, METADATA_NAME)
    if not os.path.isfile(path):
        raise ModelError(f"{folder}: no {METADATA_NAME}; train a model with src/train_cnn_models.py "
                         f"or src/train_mlp_models.py, or pass a folder that holds one")
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}; it is damaged: "
                         f"copy the model folder again or retrain it") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("architecture"), str):
        raise ModelError(f"{path} names no architecture (\"architecture\": \"cnn\", \"mlp\", ...)")
    return meta


def load_checkpoint_folder(folder):
    """Load one of our model folders (``model.ckpt.*`` + ``metadata.json``, as :meth:`GraphModel.save`
    writes them) into a :class:`GraphModel`. ``sanity_checks.loading.load_model`` is the one entry
    point that turns anything a user names (these folders, Inception v3, Keras files) into a model.
    """
    if not os.path.isdir(folder):
        raise ModelError(f"model folder {folder} does not exist")
    meta = read_metadata(folder)
    prefix = os.path.join(folder, CHECKPOINT_NAME)
    if not os.path.exists(prefix + ".index"):
        raise ModelError(f"{folder}: no checkpoint {CHECKPOINT_NAME}.index")
    model = GraphModel(meta["architecture"])
    model.metadata = meta
    try:
        model.restore(prefix, remedy=retrain_remedy(folder, meta))
    except BaseException:
        model.close()
        raise
    return model


def retrain_remedy(folder, meta):
    """How to get a good copy of a trained model folder: copy it again, or rerun its training command."""
    command = meta.get("command")
    if not command:
        command = f"src/train_{meta.get('architecture', 'cnn')}_models.py --data {meta.get('data', '...')}"
    return f"copy {folder} again from where it came, or retrain it: python {command}"
