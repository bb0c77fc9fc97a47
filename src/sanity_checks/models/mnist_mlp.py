"""The MLP of the original ``train_mlp_models.py`` (REFERENCE A4).

784 -> 2500 ReLU -> 1500 ReLU -> 500 ReLU -> 10 logits, weights truncated normal with
std 2/sqrt(fan_in), biases 0, scopes ``mlp/hidden1..3`` and ``mlp/logits``. The input is an image
(N, 28, 28, 1) flattened inside the graph, so masks have the image's shape for every model.
"""
import math

from ..compat import tf, tf1
from ..contract import Architecture, Block

HIDDEN_UNITS = (2500, 1500, 500)


def _dense(x, n_out, activation):
    fan_in = int(x.shape[-1])
    w = tf1.get_variable("weights", [fan_in, n_out],
                         initializer=tf1.truncated_normal_initializer(stddev=2.0 / math.sqrt(fan_in)))
    b = tf1.get_variable("biases", [n_out], initializer=tf1.zeros_initializer())
    out = tf.matmul(x, w) + b
    return activation(out) if activation else out


def build(inputs):
    """``inputs``: float32 (N, 28, 28, 1) in [0, 1]. Returns ``(logits (N, 10), end_points)``."""
    end_points = {}
    with tf1.variable_scope("mlp"):
        h = tf.reshape(inputs, [-1, 784])
        for i, units in enumerate(HIDDEN_UNITS, start=1):
            with tf1.variable_scope(f"hidden{i}"):
                h = _dense(h, units, tf.nn.relu)
                end_points[f"hidden{i}"] = h
        with tf1.variable_scope("logits"):
            logits = _dense(h, 10, None)
            end_points["logits"] = logits
    return logits, end_points


def regularizer():
    """L2 on the hidden weights, as the CNN's ``--reg`` (the original MLP parsed --reg and ignored it)."""
    weights = [v for v in tf1.trainable_variables()
               if v.op.name.startswith("mlp/hidden") and v.op.name.endswith("/weights")]
    return 0.001 * tf.add_n([tf.nn.l2_loss(w) for w in weights])


ARCHITECTURE = Architecture(
    name="mlp",
    build=build,
    input_shape=(28, 28, 1),
    input_range=(0.0, 1.0),
    num_classes=10,
    blocks=(Block("logits", "mlp/logits"), Block("hidden3", "mlp/hidden3"),
            Block("hidden2", "mlp/hidden2"), Block("hidden1", "mlp/hidden1")),
    gradcam_layer=None,
    batch_size=500,
    description="MLP 784-2500-1500-500-10",
    extra={"regularizer": regularizer},
)
