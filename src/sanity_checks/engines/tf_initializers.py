"""Seeded re-draws of a TensorFlow variable from its own initializer (the "reinit" randomization)."""
from ..compat import tf, tf1


def draw_from_initializer(initializer, shape, dtype, seed):
    """A fresh, seeded draw from a TensorFlow initializer, in a throwaway graph.

    Reusing TensorFlow's own initializer objects keeps the exact distributions (truncation,
    variance-scaling factors) of the original code.
    """
    if hasattr(initializer, "draw"):   # e.g. a Keras layer's initializer (keras.initializers.KerasInitializer)
        return initializer.draw(shape, dtype, seed)
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)
        if initializer is None:  # tf1.get_variable's default for float variables
            initializer = tf1.glorot_uniform_initializer()
        if hasattr(initializer, "get_config") and "seed" in initializer.get_config():
            initializer = type(initializer).from_config({**initializer.get_config(), "seed": seed})
        value = initializer(shape, dtype=dtype)
        with tf1.Session(graph=graph) as session:
            return session.run(value)
