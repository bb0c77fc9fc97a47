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


def _stderr_of(code, **env):
    import os
    import subprocess
    import sys
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ.update(env, PYTHONPATH=src)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          timeout=300).stderr


def test_native_banner_is_filtered_and_other_native_output_kept():
    code = ("import os\nfrom sanity_checks.compat import native_banner_filtered\n"
            "from sanity_checks.model import GraphModel\nGraphModel('mlp', seed=0).close()\n"
            "with native_banner_filtered():\n"
            "    os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on. x\\nkeep me\\n')\n")
    quiet = _stderr_of(code)
    assert quiet.splitlines() == ["keep me"]
    # TF_CPP_MIN_LOG_LEVEL=0 asks for TensorFlow's logs: then nothing is filtered
    loud = _stderr_of(code, TF_CPP_MIN_LOG_LEVEL="0")
    assert "oneDNN custom operations are on" in loud and "keep me" in loud
