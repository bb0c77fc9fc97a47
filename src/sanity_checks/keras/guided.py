"""Guided-backprop coverage of a Keras model: the layers whose activation has no guided form, named
in a :class:`GuidedCoverageWarning`."""
from .layers import walk_layers


class GuidedCoverageWarning(UserWarning):
    """Layers whose activation has no guided-backprop rule: their ordinary gradient is used."""


#: Activations the guided tower overrides (op types; see model.GUIDED_OVERRIDES) and the Keras names
#: that produce them.
GUIDED_ACTIVATIONS = {"relu", "relu6", "leaky_relu", "linear", "softmax"}
UNGUIDED_LAYER_CLASSES = {"PReLU", "ELU", "ThresholdedReLU"}


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = getattr(activation, "__name__", None) or type(activation).__name__
    return name.lower()


def unguided_layers(builder):
    """Paths of layers whose activation has no guided-backprop form (PReLU, ELU, swish, gelu, ...)."""
    found = []
    for path, layer in walk_layers(builder.model):
        cls = type(layer).__name__
        if cls in UNGUIDED_LAYER_CLASSES:
            found.append(f"{path} ({cls})")
        elif cls == "ReLU" and float(getattr(layer, "threshold", 0.0) or 0.0) != 0.0:
            found.append(f"{path} (thresholded ReLU)")
        else:
            name = _activation_name(layer)
            if name and name not in GUIDED_ACTIVATIONS and name not in ("sigmoid", "tanh", "hard_sigmoid"):
                found.append(f"{path} ({name})")
    return found
