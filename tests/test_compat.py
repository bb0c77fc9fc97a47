"""The TensorFlow / tf-slim compatibility shim."""
import importlib

import numpy as np

from sanity_checks.compat import slim, tf, tf1


def test_legacy_layers_path_resolves():
    module = importlib.import_module("tf_keras.legacy_tf_layers.normalization")
    assert hasattr(module, "BatchNormalization")


def test_tf_slim_conv_with_batch_norm_builds_and_runs():
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 8, 8, 3])
        y = slim.conv2d(x, 4, 3, normalizer_fn=slim.batch_norm, normalizer_params={"is_training": False, "scale": False})
        names = sorted(v.op.name for v in tf1.global_variables())
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            out = sess.run(y, {x: np.ones((2, 8, 8, 3), np.float32)})
    assert out.shape == (2, 8, 8, 4)
    assert names == ["Conv/BatchNorm/beta", "Conv/BatchNorm/moving_mean", "Conv/BatchNorm/moving_variance",
                     "Conv/weights"]
    assert np.all(out >= 0)  # ReLU is slim.conv2d's default activation


def test_graph_mode():
    assert not tf.executing_eagerly()
