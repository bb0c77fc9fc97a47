"""The two Kerases: Keras 3 or tf-keras, the module of each, and tf-keras' process-wide switch of its
layer classes between the eager (v2) and graph (v1) generations."""
from .layers import walk_layers


def keras_module(flavour):
    if flavour == "keras":
        import keras
        return keras
    import tf_keras
    return tf_keras


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

    for layer in [model] + [layer for _, layer in walk_layers(model)]:
        if isinstance(layer, (training.Model, training_v1.Model)):
            swap_class(type(layer), training.Model, training_v1.Model, eager)
        swap_class(type(layer), base_layer.Layer, base_layer_v1.Layer, eager)
