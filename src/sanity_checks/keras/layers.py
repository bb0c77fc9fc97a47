"""Walking a Keras model: every layer by path (nested models' layers under their name), the operations
of a Keras 3 functional model that are no layer (``inputs + x``), and the ``tf.Variable`` behind each weight."""
from ..compat import tf
from ..errors import ModelError


def backing_variable(weight):
    """The tf.Variable behind a Keras weight (Keras 3 wraps one; tf-keras weights are tf.Variables)."""
    if isinstance(weight, tf.Variable):
        return weight
    value = getattr(weight, "value", None)
    if isinstance(value, tf.Variable):
        return value
    raise ModelError(f"cannot find the TensorFlow variable behind Keras weight {getattr(weight, 'path', weight)}")


def is_container(layer):
    return hasattr(layer, "layers") and isinstance(getattr(layer, "layers", None), (list, tuple))


def walk_layers(model, prefix=""):
    """(path, layer) for every layer, depth first, nested models' layers under ``<model name>/``."""
    for layer in model.layers:
        path = prefix + layer.name
        yield path, layer
        if is_container(layer):
            yield from walk_layers(layer, path + "/")


def walk_operations(model, prefix=""):
    """(path, operation) for every operation of a Keras 3 functional model (nested ones included) that is
    no layer: a raw op on Keras tensors such as ConvNeXt's ``inputs + x`` block output (tf-keras makes
    those TFOpLambda layers, which :func:`walk_layers` already yields)."""
    layers = {id(layer) for layer in model.layers}
    for operation in getattr(model, "operations", None) or ():
        if id(operation) not in layers and not hasattr(operation, "weights"):   # layers are walk_layers'
            yield prefix + operation.name, operation
    for layer in model.layers:
        if is_container(layer):
            yield from walk_operations(layer, prefix + layer.name + "/")
