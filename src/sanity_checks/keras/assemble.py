"""Assembly: a Keras source becomes a :class:`~sanity_checks.model.GraphModel` (rebuilt graph,
assigned weights, blocks, GradCAM layer, initializers), refused unless its output equals the eager model's."""
import dataclasses
import os
import warnings

import numpy as np

from .. import stages
from ..compat import tf1
from ..contract import FINAL_ACTIVATION, explained_logits
from ..errors import ModelError
from ..models import Architecture
from ..stages import DEFAULT_GROUPING
from .blocks import derive_blocks, read_blocks_file
from .eager import eager_mode, read_keras_file, snapshot_of
from .gradcam_layer import default_gradcam_layer
from .guided import GuidedCoverageWarning, unguided_layers
from .initializers import KerasInitializer, weight_initializer
from .layers import backing_variable, is_container, walk_layers
from .rebuild import KerasBuilder
from .safety import custom_objects_from


#: Logits (pre-softmax or pre-sigmoid) of the rebuilt graph must equal the eager Keras model's this closely,
#: relative to each probe image's largest logit (an untrained EfficientNetB0's logits are ~1e-7: the softmax outputs
#: of two different initializations differ by 1.5e-8, their logits by ~100% of their scale).
PROBE_RTOL = 1e-4


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


def graph_model(snapshot, custom_objects=None, trust_model_code=False, groups=None, log=print,
                grouping=DEFAULT_GROUPING):
    """Rebuild a :class:`KerasSnapshot` in a new :class:`GraphModel`, assign its weights, check it."""
    from ..model import GraphModel

    builder = KerasBuilder(snapshot, custom_objects, trust_model_code)
    architecture = Architecture(
        name=snapshot.name, build=builder, input_shape=snapshot.input_shape, num_classes=snapshot.num_outputs,
        blocks=(), gradcam_layer=None, batch_size=_batch_size(snapshot.input_shape),
        description=f"{'Keras' if snapshot.flavour == 'keras' else 'tf-keras'} {snapshot.version} model "
                    f"{snapshot.name!r}")
    model = GraphModel(architecture, session_config=_session_config())
    try:
        weights = builder.model.weights
        if len(weights) != len(snapshot.weights):
            raise ModelError(f"{snapshot.source}: the rebuilt model has {len(weights)} weights, the file "
                             f"{len(snapshot.weights)}")
        names = [backing_variable(w).op.name for w in weights]
        model.set_weights(dict(zip(names, snapshot.weights)))
        check_against_eager(model, builder, snapshot)
        call = builder.calls[0]
        blocks, inert = derive_blocks(builder, groups, grouping)
        model.architecture = dataclasses.replace(
            architecture, blocks=blocks, gradcam_layer=default_gradcam_layer(call))
        layers = dict(walk_layers(builder.model))
        for path, layer in layers.items():
            if is_container(layer):
                continue
            for w in layer.weights:
                init = weight_initializer(layer, w)
                if init is not None:
                    model.initializers[backing_variable(w).op.name] = KerasInitializer(init)
        unguided = unguided_layers(builder)
        model.keras_model = builder.model
        model.keras_weight_variables = [backing_variable(w) for w in weights]   # in Keras' weights order
        model.metadata = {
            "architecture": snapshot.name, "source": "keras", "keras": f"{snapshot.flavour} {snapshot.version}",
            "format": snapshot.kind, "path": snapshot.source, "data": None, "labels": None,
            "explained": explained_logits(call["stripped"]) if call["stripped"] else "the model's output",
            FINAL_ACTIVATION: call["stripped"],
            "blocks": len(model.architecture.blocks),
            "gradcam_layer": model.architecture.gradcam_layer, "unguided_layers": unguided}
    except BaseException:
        model.close()
        raise
    if inert:
        log(f"note: no block for {', '.join(inert)}: all their weights are non-trainable, so randomizing them "
            f"would change nothing")
    if call["stripped"]:
        log(f"note: {snapshot.name} ends in a {call['stripped'].lower()}: the explained score is its input, the "
            f"pre-{call['stripped'].lower()} logit")
    if model.architecture.gradcam_layer is None:
        log(f"note: {snapshot.name} has no layer with a (h, w, channels) output above 1x1 on the path to its "
            f"logits: no GradCAM")
    if unguided:
        warnings.warn(f"guided backprop: no guided gradient for the activations of {', '.join(unguided[:8])}"
                      + (f" and {len(unguided) - 8} more" if len(unguided) > 8 else "")
                      + "; their ordinary gradient is used"
                      + ("; with no ReLU-family activation at all, Guided BackProp equals Gradient"
                         if model.guided_equals_gradient else ""), GuidedCoverageWarning, stacklevel=2)
    return model


def check_against_eager(model, builder, snapshot, rtol=PROBE_RTOL):
    """Refuse the model unless the graph's logits equal the eager Keras model's on the probe
    inputs, relative to each image's largest |logit|."""
    got = model.session.run(builder.calls[0]["logits"], {model.inputs: snapshot.probe})
    expected = snapshot.expected
    if got.shape == expected.shape:
        scale = np.maximum(np.abs(expected).max(axis=1), np.finfo(np.float32).tiny)
        difference = float(np.max(np.abs(got - expected).max(axis=1) / scale))
    else:
        difference = np.inf
    if not difference <= rtol:
        raise ModelError(f"{snapshot.source}: the rebuilt graph's logits differ from the Keras model's own by "
                         f"{difference:.3g} of their scale (> {rtol:g}) on the probe inputs: the weights did not "
                         f"load right; refusing to check this model")


def load_keras(source, trust_model_code=False, custom_objects_module=None, blocks_file=None, blocks=None,
               log=print, grouping=DEFAULT_GROUPING):
    """A :class:`GraphModel` of a Keras file, tf-keras SavedModel folder, or Keras model object.

    Args:
        source: a path, or a Keras 3 / tf-keras model object (its weights are copied; the object is not
            changed and later changes to it do not reach the GraphModel).
        trust_model_code: allow Lambda layers that carry Python bytecode (it runs while loading).
        custom_objects_module: a module name or ``.py`` file with the model's custom layer classes.
        blocks_file / blocks: layer groups ``{block: [regex, ...]}`` (a JSON file or a dict).
        grouping: without those, 'stages' (layers merged by the stages their names show, e.g. DenseNet's
            ``conv5_block16``) or 'layers' (one block per weighted layer); see :mod:`sanity_checks.stages`.
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
                                 f"load it inside sanity_checks.keras.eager_mode()") from None
    return graph_model(snapshot, custom, trust_model_code, blocks, log, stages.check_grouping(grouping))
