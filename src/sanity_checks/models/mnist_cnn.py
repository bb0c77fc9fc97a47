"""The "lenet style" CNN of the original ``train_cnn_models.py`` (REFERENCE A4).

28x28x1 -> conv 5x5x32 SAME + ReLU -> maxpool 2x2 -> conv 5x5x64 SAME + ReLU -> maxpool 2x2
-> flatten 3136 -> FC 1024 + ReLU -> FC 10 logits. Weights truncated normal (std 0.1), biases 0.1,
no dropout. Scopes ``hidden1``, ``hidden2``, ``fc1``, ``softmax_linear`` as the original.
"""
from ..compat import tf, tf1
from ..contract import Architecture, Block


def _weights(shape):
    return tf1.get_variable("weights", shape, initializer=tf1.truncated_normal_initializer(stddev=0.1))


def _biases(n):
    return tf1.get_variable("biases", [n], initializer=tf1.constant_initializer(0.1))


def _conv_block(x, n_out):
    w = _weights([5, 5, int(x.shape[-1]), n_out])
    pre = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME") + _biases(n_out)
    act = tf.nn.relu(pre)
    pool = tf.nn.max_pool2d(act, ksize=2, strides=2, padding="SAME")
    return pre, act, pool


def build(inputs):
    """``inputs``: float32 (N, 28, 28, 1) in [0, 1]. Returns ``(logits (N, 10), end_points)``."""
    end_points = {}
    with tf1.variable_scope("hidden1"):
        pre, act, pool = _conv_block(inputs, 32)
        end_points.update(hidden1_hconv_pre=pre, hidden1_hconv_act=act, hidden1_hpool=pool)
    with tf1.variable_scope("hidden2"):
        pre, act, pool = _conv_block(pool, 64)
        end_points.update(hidden2_hconv_pre=pre, hidden2_hconv_act=act, hidden2_hpool=pool)
    with tf1.variable_scope("fc1"):
        flat = tf.reshape(pool, [-1, 7 * 7 * 64])
        fc1 = tf.nn.relu(tf.matmul(flat, _weights([7 * 7 * 64, 1024])) + _biases(1024))
        end_points["fc1"] = fc1
    with tf1.variable_scope("softmax_linear"):
        logits = tf.matmul(fc1, _weights([1024, 10])) + _biases(10)
        end_points["logits"] = logits
    return logits, end_points


def regularizer():
    """The original ``--reg`` term: 0.001 * (l2(W_conv1) + l2(W_conv2) + l2(W_fc1)), l2 = sum(w^2)/2."""
    names = ("hidden1/weights", "hidden2/weights", "fc1/weights")
    weights = [v for v in tf1.trainable_variables() if v.op.name in names]
    return 0.001 * tf.add_n([tf.nn.l2_loss(w) for w in weights])


ARCHITECTURE = Architecture(
    name="cnn",
    build=build,
    input_shape=(28, 28, 1),
    input_range=(0.0, 1.0),
    num_classes=10,
    blocks=(Block("softmax_linear", "softmax_linear"), Block("fc1", "fc1"),
            Block("hidden2", "hidden2"), Block("hidden1", "hidden1")),
    gradcam_layer="hidden2_hconv_act",
    batch_size=500,
    description="LeNet-style CNN, 2 conv + 2 FC layers",
    extra={"regularizer": regularizer},
)
