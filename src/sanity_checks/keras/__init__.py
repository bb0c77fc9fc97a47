"""A user's Keras image classifier as a :class:`~sanity_checks.model.GraphModel`.

Sources: ``.keras`` and ``.h5`` files written by Keras 3 or by tf-keras, tf-keras SavedModel folders
(with ``keras_metadata.pb``), and Keras model objects in memory. Keras and tf-keras are imported
here only, and only when a Keras model is loaded.

Loading is the "eager bridge" (doc: ``shared/design/own-models.md``): the model is loaded inside
``eager_mode()``, where every Keras loads every format correctly, and only its class, config and
weights are kept; it is then rebuilt in our graph with ``from_config`` and the weights are assigned
through our own placeholder-fed assign ops on the backing ``tf.Variable``. Loading a Keras file
directly in graph mode gives random weights without any error for most formats, so after loading
the graph's logits (pre-softmax or pre-sigmoid) are compared with the eager model's on fixed probe inputs (in the range
the model's first layers expect: 0-255 before its own Rescaling or Normalization, else -1..1) and the
model is refused when they differ by more than 1e-4 of their scale.

Safe mode: a file's Python code never runs unless the user says so. ``Lambda`` layers that carry
bytecode are refused before Keras reads the file (``trust_model_code=True`` allows them), and
custom layer classes come only from a module the user names (``custom_objects_module``).

What is derived from the model, and how to override it:

- input shape and class count from the model; the explained score is the **logit**: when the output
  op is a Softmax or a Sigmoid (after Identity ops), its input (a note says which), as Captum and
  Quantus users explain it; a probability saturates, and its gradient with it;
- blocks, top first: every leaf layer with weights, batch normalization folded into the layer that
  feeds it, in the reverse of the order the model calls its layers; ``blocks`` / ``blocks_file``
  (``{block: [layer-name regex, ...]}``, each regex matched from the start of the layer's path,
  e.g. ``block_\\d+_``) groups layers into coarser blocks. Blocks list their variables explicitly;
- re-initialization draws each weight from its own layer's initializer (``layer.<weight>_initializer``,
  ``_kernel`` dropped), seeded per variable as for our models; batch-norm moving statistics stay;
- GradCAM's layer: the last layer with a (h, w, channels) output above 1x1 on the path to the logits,
  a Keras 3 operation that is no layer included (ConvNeXt's block output ``inputs + x``, named as in
  the model's config, e.g. ``add_17``); ``--set gradcam.layer=NAME`` overrides it. It is recorded
  from the very call that built the graph; the end points are the model's own layer and operation
  names only (a user layer named ``logits`` is that layer);
- layers whose weights are all non-trainable (an adapted ``Normalization``) are no block (a note
  names them): randomization leaves such weights, so their step would change nothing;
- guided backprop: the guided tower is a second call of the same Keras model under the guided
  gradient overrides of Relu, Relu6 and LeakyRelu; layers whose activations have no guided form
  (PReLU, thresholded ReLU, ELU, swish, gelu, ...) are named in a warning.

Modules: ``sources`` (what a path or object is, and its stored config, read without loading),
``safety`` (Lambda refusal, custom objects, safe-mode scopes), ``flavours`` (Keras 3 or tf-keras:
its module and tf-keras' class generations), ``layers`` (walking layers and weights), ``eager`` (the
eager bridge: :class:`KerasSnapshot`), ``rebuild`` (the graph rebuild with its call recorder,
:class:`KerasBuilder`), ``blocks``, ``gradcam_layer``, ``guided`` (guided-activation coverage),
``initializers`` (:class:`KerasInitializer`), ``assemble`` (:func:`load_keras`: a checked
:class:`~sanity_checks.model.GraphModel`).
"""
from .assemble import load_keras
from .eager import eager_mode
from .guided import GuidedCoverageWarning
from .sources import is_keras_model, is_keras_path

__all__ = ["load_keras", "eager_mode", "GuidedCoverageWarning", "is_keras_model", "is_keras_path"]
