"""Small Keras models made by the tests (nothing downloaded), in every format we load.

Each kind is built once by Keras 3 and once by tf-keras, inside ``eager_mode()``, with seeded
weights, and saved as ``.keras`` and ``.h5`` (and, by tf-keras, as a SavedModel folder).
"""
import os

import numpy as np

from sanity_checks import compat  # noqa: F401  (TensorFlow shim before Keras)

FLAVOURS = ("keras", "tf_keras")
FORMATS = {"keras": ("keras", "h5"), "tf_keras": ("keras", "h5", "savedmodel")}


def keras_module(flavour):
    if flavour == "keras":
        import keras
        return keras
    import tf_keras
    return tf_keras


def sequential_cnn(K, seed):
    """28x28x1 -> conv, pool, conv, dense 10 softmax (a Keras copy of a small MNIST CNN)."""
    K.utils.set_random_seed(seed)
    return K.Sequential([K.Input((28, 28, 1)),
                         K.layers.Conv2D(8, 5, padding="same", activation="relu", name="conv1"),
                         K.layers.MaxPooling2D(2, name="pool1"),
                         K.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2"),
                         K.layers.MaxPooling2D(2, name="pool2"),
                         K.layers.Flatten(name="flat"),
                         K.layers.Dense(16, activation="relu", name="fc1"),
                         K.layers.Dense(10, activation="softmax", name="probs")], name="seq_cnn")


def functional(K, seed):
    """BatchNormalization, a residual add, ReLU6, LeakyReLU, Dropout, and a separate Softmax layer."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((16, 16, 3))
    x = K.layers.Conv2D(6, 3, padding="same", name="stem")(inputs)
    x = K.layers.BatchNormalization(name="stem_bn")(x)
    x = K.layers.ReLU(6.0, name="stem_relu6")(x)
    y = K.layers.Conv2D(6, 3, padding="same", name="branch")(x)
    y = K.layers.LeakyReLU(name="branch_leaky")(y)
    x = K.layers.Add(name="residual")([x, y])
    x = K.layers.Conv2D(8, 3, padding="same", activation="relu", name="top_conv")(x)
    x = K.layers.Dropout(0.3, name="drop")(x)
    x = K.layers.GlobalAveragePooling2D(name="gap")(x)
    x = K.layers.Dense(5, name="dense")(x)
    return K.Model(inputs, K.layers.Softmax(name="softmax")(x), name="functional_net")


def nested(K, seed):
    """A functional block model used inside another model; linear output (no softmax)."""
    K.utils.set_random_seed(seed)
    block_in = K.Input((16, 16, 3))
    b = K.layers.Conv2D(6, 3, padding="same", name="conv")(block_in)
    b = K.layers.BatchNormalization(name="bn")(b)
    block = K.Model(block_in, K.layers.ReLU(name="relu")(b), name="inner")
    inputs = K.Input((16, 16, 3))
    x = block(inputs)
    x = K.layers.Conv2D(6, 3, padding="same", name="conv_outer")(x)
    x = K.layers.BatchNormalization(name="bn_outer")(x)
    x = K.layers.ReLU(name="relu_outer")(x)
    x = K.layers.Flatten(name="flat")(x)
    return K.Model(inputs, K.layers.Dense(4, name="logits_dense")(x), name="nested_net")


def softmax_op(K, seed):
    """A softmax as an op, not a layer or an activation: ``keras.ops.softmax`` (Keras 3) or
    ``tf.nn.softmax`` (tf-keras, a TFOpLambda layer), on the output of a Dense named ``logits``."""
    K.utils.set_random_seed(seed)
    inputs = K.Input((8, 8, 2))
    x = K.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    logits = K.layers.Dense(3, name="logits")(K.layers.Flatten(name="flat")(x))
    if K.__name__ == "keras":
        probabilities = K.ops.softmax(logits)
    else:
        from sanity_checks.compat import tf
        probabilities = tf.nn.softmax(logits)
    return K.Model(inputs, probabilities, name="softmax_op_net")


def mobilenet(K, seed):
    """MobileNetV2(weights=None) at 32x32, BN moving statistics perturbed (an untrained net's
    gradients are ~1e-13 otherwise)."""
    K.utils.set_random_seed(seed)
    model = K.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=6)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            mean, var = layer.moving_mean, layer.moving_variance
            mean.assign(rng.normal(0, 0.2, mean.shape).astype(np.float32))
            var.assign(rng.uniform(0.5, 2.0, var.shape).astype(np.float32))
            layer.beta.assign(rng.normal(0.1, 0.2, layer.beta.shape).astype(np.float32))
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape).astype(np.float32))
    head = model.get_layer("predictions")
    head.bias.assign(rng.normal(0, 0.1, head.bias.shape).astype(np.float32))
    return model


def densenet_like(K, seed):
    """Layers named as DenseNet's (``conv1_conv``, ``conv2_block1_1_conv``, the transition ``pool2_bn`` /
    ``pool2_conv``, the final ``bn``), two dense blocks of two layers and one more after the transition."""
    K.utils.set_random_seed(seed)
    L = K.layers

    def dense_layer(x, name):
        y = L.BatchNormalization(name=f"{name}_0_bn")(x)
        y = L.Conv2D(4, 1, name=f"{name}_1_conv")(L.ReLU(name=f"{name}_0_relu")(y))
        y = L.BatchNormalization(name=f"{name}_1_bn")(y)
        y = L.Conv2D(2, 3, padding="same", name=f"{name}_2_conv")(L.ReLU(name=f"{name}_1_relu")(y))
        return L.Concatenate(name=f"{name}_concat")([x, y])

    inputs = K.Input((16, 16, 3))
    x = L.Conv2D(4, 3, padding="same", name="conv1_conv")(inputs)
    x = L.ReLU(name="conv1_relu")(L.BatchNormalization(name="conv1_bn")(x))
    x = dense_layer(dense_layer(x, "conv2_block1"), "conv2_block2")
    x = L.ReLU(name="pool2_relu")(L.BatchNormalization(name="pool2_bn")(x))
    x = L.AveragePooling2D(2, name="pool2_pool")(L.Conv2D(4, 1, name="pool2_conv")(x))
    x = dense_layer(x, "conv3_block1")
    x = L.ReLU(name="relu")(L.BatchNormalization(name="bn")(x))
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    return K.Model(inputs, L.Dense(5, activation="softmax", name="predictions")(x), name="densenet_like")


KINDS = {"sequential": sequential_cnn, "functional": functional, "nested": nested, "softmax_op": softmax_op,
         "mobilenet": mobilenet}


def build(kind, flavour, seed=0):
    """The eager model (call inside eager_mode())."""
    return KINDS[kind](keras_module(flavour), seed)


def save(model, flavour, folder, stem, formats=None, traces=True):
    """{format: path} of ``model`` saved in every format its Keras writes (or in ``formats``).

    ``traces=False`` writes a tf-keras SavedModel without the traced call functions of each layer
    (``save_traces=False``): still a SavedModel with Keras metadata, which tf-keras revives from the
    layers' configs as it does a traced one whose layers are all built in, but written in 6 s instead
    of 30 s for MobileNetV2."""
    paths = {}
    for fmt in formats or FORMATS[flavour]:
        path = os.path.join(folder, f"{stem}_{flavour}" + ("" if fmt == "savedmodel" else f".{fmt}"))
        if fmt == "savedmodel":
            path += "_savedmodel"
            model.save(path, save_format="tf", save_traces=traces)
        else:
            model.save(path)
        paths[fmt] = path
    return paths


def eager_logits(model, x):
    """The model's pre-softmax logits computed eagerly (call inside eager_mode()), independently of
    our graph: the last layer's input for a Softmax layer, ``h @ W + b`` for a softmax Dense, the output
    of the layer named ``logits`` for a softmax op."""
    from sanity_checks.keras.flavours import tf_keras_classes
    K = keras_module("tf_keras" if type(model).__module__.startswith("tf_keras") else "keras")
    tf_keras_classes(model, eager=True)
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if model.name == "softmax_op_net":
        return np.asarray(K.Model(model.inputs, model.get_layer("logits").output)(x, training=False))
    if type(last).__name__ == "Softmax":
        return np.asarray(K.Model(model.inputs, last.input)(x, training=False))
    if type(last).__name__ == "Dense" and activation == "softmax":
        h = np.asarray(K.Model(model.inputs, last.input)(x, training=False), np.float64)
        return (h @ np.asarray(last.kernel, np.float64) + np.asarray(last.bias, np.float64)).astype(np.float32)
    return np.asarray(model(x, training=False))


def probe_images(shape, n=3, seed=5):
    return np.random.default_rng(seed).random((n,) + tuple(shape), dtype=np.float32)

