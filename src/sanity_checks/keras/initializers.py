"""Re-initialization of a Keras model's weights: each weight's own layer initializer
(:class:`KerasInitializer`), drawn with a seed."""
import numpy as np

from ..compat import tf
from .eager import eager_mode


def _short_weight_name(weight):
    name = getattr(weight, "path", None) or weight.name
    return name.split("/")[-1].split(":")[0]


def weight_initializer(layer, weight):
    """The layer's initializer of ``weight``: ``layer.<w>_initializer``, or with ``_kernel`` dropped."""
    short = _short_weight_name(weight)
    for attribute in (f"{short}_initializer", short.replace("_kernel", "") + "_initializer"):
        init = getattr(layer, attribute, None)
        if init is not None and hasattr(init, "get_config"):
            return init
    return None


class KerasInitializer:
    """A Keras initializer the :class:`~sanity_checks.randomize.Randomizer` can draw from with a seed:
    a fresh copy of the initializer with that seed, called eagerly."""

    def __init__(self, initializer):
        self.initializer = initializer

    def draw(self, shape, dtype, seed):
        config = dict(self.initializer.get_config())
        if "seed" in config:
            config["seed"] = int(seed)
        with eager_mode():
            fresh = type(self.initializer).from_config(config)
            return np.asarray(fresh(tuple(shape), dtype=tf.as_dtype(dtype).name))

    def __repr__(self):
        return f"KerasInitializer({type(self.initializer).__name__})"
