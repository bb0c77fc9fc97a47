"""The model contract: everything the methods, checks, randomization, experiments and the report may
ask of a model, and nothing more.

An engine (TensorFlow: :class:`sanity_checks.model.GraphModel` for our networks, Inception v3 and
users' Keras files; numpy: :class:`sanity_checks.engines.numpy_mlp.NumpyMLP`, the reference that proves
the contract needs no framework) subclasses :class:`Model` and implements its abstract calls. Outside
an engine's own modules nothing touches a graph, a session or a framework tensor: the toolkit speaks
numpy at this seam.

Conventions at the seam:

- images are float32 (N, H, W, C) (``architecture.input_shape`` per image), whatever the engine's own
  layout; an engine that computes channels-first transposes inside itself. Masks come back (N, H, W, C).
- ``classes`` are one int32 class per image; "the class's logit" is the pre-softmax output.
- parameters are named by strings (``Parameter.name``); a :class:`Block` lists which parameters
  make up one step of a randomization, and ``architecture.blocks`` orders them top (output) first.
- every call is batched: an engine runs ``x`` in chunks of ``batch_size`` images (default
  ``architecture.batch_size``) and returns the results concatenated.

What a model must offer (the abstract methods of :class:`Model`):

==============================  ======================================================================
``predict_logits(x)``           (N, classes) pre-softmax logits
``input_gradients(x, classes,   d logit[class] / d input, (N, H, W, C); ``guided=True``: guided
guided=False)``                 backprop (ReLU-family gradients gated, Springenberg et al.)
``layer_shapes()``              {layer name: per-image shape} of the named layers it can read
``layer_values_and_gradients(   a named layer's values and d logit[class] / d values (GradCAM)
x, classes, layer)``
``parameters()``                [:class:`Parameter`] name, shape, dtype, trainable, in a fixed order
``get_weights()`` /             read ({name: array}) and write (a subset of names) parameter values,
``set_weights(values)``         in memory
``initial_value(name, seed)``   a fresh seeded draw of one parameter from its own initializer (the
                                randomization's "reinit" strategy)
``shifted_input_model(shift)``  input invariance (Kindermans et al.): a copy whose first layer
                                compensates the constant input shift ``shift`` exactly, and the name
                                of the compensated parameter; or :class:`~sanity_checks.errors.
                                UnsupportedError` with the reason it cannot be done
``close()``                     free what the engine holds (sessions, buffers)
==============================  ======================================================================

An engine whose model is a framework's own object may also hand it over, for methods written against that
framework (the Quantus convention, ``methods.conventions``): ``framework`` names it ('pytorch', 'keras'),
``framework_layout`` says the layout its inputs take ('NCHW', 'NHWC') and ``framework_model()`` returns it,
holding the weights the model holds now (randomized ones during a randomization); such a method runs inside
``framework_scope()`` (a Keras model: eager execution, which this process's graphs have switched off).

:class:`Model` derives the rest from these: ``check_images``, ``check_classes``, ``predict``,
``accuracy``, PAIR's ``call_model_function`` and the context-manager protocol.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .errors import ModelError


@dataclass(frozen=True)
class Block:
    """A named group of parameters: every parameter whose name starts with ``scope + '/'``, or, when
    ``variables`` is given, exactly those parameter names (Keras models: their variable names do not
    carry the names of nested models, so a prefix cannot say which layer owns them)."""

    name: str
    scope: Optional[str] = None
    variables: Optional[Tuple[str, ...]] = None

    def __post_init__(self):
        if (self.scope is None) == (self.variables is None):
            raise ValueError(f"block {self.name!r}: give either a scope or a variable list")
        if self.variables is not None:
            object.__setattr__(self, "variables", tuple(self.variables))

    def owns(self, variable_name: str) -> bool:
        if self.variables is not None:
            return variable_name in self.variables
        return variable_name.startswith(self.scope + "/")


@dataclass(frozen=True)
class Architecture:
    """What a model declares about itself. ``build`` is the engine's own (a TensorFlow graph
    builder for :class:`~sanity_checks.model.GraphModel`; unused by other engines)."""

    name: str
    build: Optional[Callable]
    input_shape: Tuple[int, ...]          # per image, e.g. (28, 28, 1)
    num_classes: int
    blocks: Tuple[Block, ...]             # top (output) block first: the cascading order
    gradcam_layer: Optional[str] = None   # layer used by GradCAM by default
    batch_size: int = 256                 # images per engine call for batched calls
    description: str = ""
    extra: dict = field(default_factory=dict)
    input_range: Optional[Tuple[float, float]] = None   # the values the model expects, when known

    def block(self, name: str) -> Block:
        for b in self.blocks:
            if b.name == name:
                return b
        raise ModelError(f"unknown block {name!r} for {self.name}; valid blocks: "
                         + ", ".join(b.name for b in self.blocks))

    @property
    def block_names(self):
        return [b.name for b in self.blocks]


@dataclass(frozen=True)
class Parameter:
    """One parameter array of a model: its name, per-array shape, numpy dtype name, and whether
    training changes it (batch-norm moving statistics do not; randomization leaves them by default)."""

    name: str
    shape: Tuple[int, ...]
    dtype: str
    trainable: bool = True


def explained_logits(activation):
    """A model's ``metadata["explained"]`` when the engine looks through its final ``activation`` (the
    layer's or op's class name: Softmax, Sigmoid, LogSoftmax): the explained score is that layer's input."""
    return f"pre-{activation.lower()} logits (the input of the final {activation})"


#: ``metadata`` key naming the final activation the engine looks through (its class name, as given to
#: :func:`explained_logits`); absent when the model's output is the explained score itself.
FINAL_ACTIVATION = "final_activation"


class Model(ABC):
    """A model behind the contract (see the module docstring). Subclasses set ``architecture`` and
    ``metadata`` and implement the abstract calls."""

    architecture: Architecture
    #: What the model's files say of it (data set, labels, seed, accuracy, ...); {} when nothing.
    metadata: Dict = {}
    #: True when the model has no activation that guided backprop gates (no ReLU family: swish, GELU,
    #: hard-swish, ...): Guided BackProp then equals Gradient, and the report says so instead of judging it.
    guided_equals_gradient: bool = False
    #: The framework whose model ``framework_model()`` hands over (None: none), and its input layout.
    framework: Optional[str] = None
    framework_layout: str = "NHWC"

    # ------------------------------------------------------------------ what an engine implements
    @abstractmethod
    def predict_logits(self, x, batch_size=None) -> np.ndarray:
        """(N, *input_shape) -> (N, num_classes) pre-softmax logits."""

    @abstractmethod
    def input_gradients(self, x, classes, guided=False, batch_size=None) -> np.ndarray:
        """d logit[class] / d input per image, (N, *input_shape); ``guided``: guided backprop."""

    @abstractmethod
    def layer_shapes(self) -> Dict[str, Tuple]:
        """{layer name: per-image shape (None where unknown)} of the layers it can read."""

    @abstractmethod
    def layer_values_and_gradients(self, x, classes, layer, batch_size=None) -> Tuple[np.ndarray, np.ndarray]:
        """Values of layer ``layer`` and d logit[class] / d values, both (N, *layer shape)."""

    @abstractmethod
    def parameters(self) -> List[Parameter]:
        """Every parameter array, in a fixed order."""

    @abstractmethod
    def get_weights(self) -> Dict[str, np.ndarray]:
        """{parameter name: array}, a snapshot in memory."""

    @abstractmethod
    def set_weights(self, values: Dict[str, np.ndarray]) -> None:
        """Assign {parameter name: array} in memory (any subset of the parameters)."""

    @abstractmethod
    def initial_value(self, name: str, seed: int) -> np.ndarray:
        """A fresh draw of parameter ``name`` from its own initializer, seeded by ``seed`` alone."""

    @abstractmethod
    def shifted_input_model(self, shift: float) -> Tuple["Model", str]:
        """(a model computing on ``x + shift`` what this one computes on ``x``, the name of the
        parameter that compensates it); raises :class:`~sanity_checks.errors.UnsupportedError`."""

    def close(self):
        """Free what the engine holds."""

    def framework_model(self):
        """The framework's own model, with the weights this model holds now (see the module docstring)."""
        from .errors import UnsupportedError
        raise UnsupportedError(f"{self.architecture.name} has no framework model to hand to a method written for "
                               f"one (the Quantus convention runs on PyTorch and Keras models)")

    def framework_scope(self):
        """The context a method given ``framework_model()`` runs in (default: none)."""
        import contextlib
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ derived from the above
    def check_images(self, x):
        """Return ``x`` as float32 (N, *input_shape); a single image gets a batch axis of 1."""
        x = np.asarray(x, dtype=np.float32)
        shape = tuple(self.architecture.input_shape)
        if x.shape == shape:
            x = x[None]
        if x.shape[1:] != shape:
            raise ModelError(f"{self.architecture.name} takes images of shape (N, {', '.join(map(str, shape))}), "
                             f"got {x.shape}")
        return x

    def check_classes(self, classes, n):
        """``classes``: None, one int, or n ints in range; returns an int32 array of length n."""
        classes = np.broadcast_to(np.asarray(classes, dtype=np.int64), (n,)) if np.ndim(classes) == 0 \
            else np.asarray(classes, dtype=np.int64)
        if classes.shape != (n,):
            raise ModelError(f"need one class per image ({n}), got {classes.shape[0]}")
        if len(classes) and (classes.min() < 0 or classes.max() >= self.architecture.num_classes):
            raise ModelError(f"class ids must be in 0..{self.architecture.num_classes - 1}, "
                             f"got {classes.min()}..{classes.max()}")
        return classes.astype(np.int32)

    def predict(self, x, batch_size=None):
        """(N, *input_shape) -> (N,) predicted class ids."""
        return self.predict_logits(x, batch_size).argmax(axis=1)

    def accuracy(self, x, y, batch_size=None):
        return float(np.mean(self.predict(x, batch_size) == np.asarray(y)))

    def parameter(self, name) -> Parameter:
        """The :class:`Parameter` called ``name``."""
        for p in self.parameters():
            if p.name == name:
                return p
        raise ModelError(f"no parameter {name!r} in {self.architecture.name}")

    def call_model_function(self, layer=None, guided=False):
        """A PAIR ``saliency.core`` call_model_function over this model.

        ``call_model_args`` is ``{"class_idx": int or one int per image}``. Serves
        INPUT_OUTPUT_GRADIENTS and, with ``layer``, CONVOLUTION_LAYER_VALUES and
        CONVOLUTION_OUTPUT_GRADIENTS.
        """
        import saliency.core as sc

        def call(x_batch, call_model_args=None, expected_keys=None):
            x_batch = self.check_images(x_batch)
            classes = (call_model_args or {}).get("class_idx")
            out = {}
            if expected_keys is None or sc.INPUT_OUTPUT_GRADIENTS in expected_keys:
                out[sc.INPUT_OUTPUT_GRADIENTS] = self.input_gradients(x_batch, classes, guided=guided)
            if expected_keys and sc.CONVOLUTION_LAYER_VALUES in expected_keys:
                values, grads = self.layer_values_and_gradients(x_batch, classes, layer)
                out[sc.CONVOLUTION_LAYER_VALUES] = values
                out[sc.CONVOLUTION_OUTPUT_GRADIENTS] = grads
            return out

        return call

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
