"""The TensorFlow / tf-slim compatibility shim."""
import importlib

import numpy as np

from sanity_checks import compat
from sanity_checks.compat import tf, tf1

slim = compat.load_slim()


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


def test_slim_attribute_is_the_lazily_loaded_module():
    assert compat.slim is slim and slim.__name__ == "tf_slim"
    from sanity_checks.compat import slim as imported
    assert imported is slim


def _run(code, **env):
    import os
    import subprocess
    import sys
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environ.update(env, PYTHONPATH=src)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          timeout=300)


#: What every runner imports; none of them may pull in tf-slim or tf-keras (Inception v3 only).
_LEAN_IMPORTS = ("import sys\nimport sanity_checks.cli.randomization, sanity_checks.cli.report, sanity_checks.cli.demo\n"
                 "import sanity_checks.cli.parameter_saliency\n"
                 "import sanity_checks.train, sanity_checks.demo, sanity_checks.models, sanity_checks.loading, sanity_checks.report\n"
                 "from sanity_checks.models import get_architecture\nget_architecture('cnn')\n")
_HEAVY = ("tf_slim", "tf_keras")  # (Keras 3, ``keras``, is imported by ``import tensorflow`` itself)


def test_native_banner_is_filtered_and_other_native_output_kept_and_imports_are_lean():
    code = ("import os\nfrom sanity_checks.compat import native_banner_filtered\n" + _LEAN_IMPORTS +
            "from sanity_checks.model import GraphModel\nGraphModel('mlp', seed=0).close()\n"
            f"print(sorted(m for m in {_HEAVY!r} if m in sys.modules))\n"
            "from sanity_checks import compat\ncompat.load_slim()\n"
            f"print(sorted(m for m in {_HEAVY!r} if m in sys.modules))\n"
            "with native_banner_filtered():\n"
            "    os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on. x\\nkeep me\\n')\n")
    quiet = _run(code)
    assert quiet.stderr.splitlines() == ["keep me"]
    # a CNN/MLP run never imports tf-slim or tf-keras; load_slim() brings tf-slim (whose layers bring
    # tf-keras when a network is built: test_tf_slim_conv_with_batch_norm_builds_and_runs)
    before, after = quiet.stdout.splitlines()
    assert before == "[]"
    assert after == "['tf_slim']"
    # TF_CPP_MIN_LOG_LEVEL=0 asks for TensorFlow's logs: then nothing is filtered
    loud = _run(code, TF_CPP_MIN_LOG_LEVEL="0").stderr
    assert "oneDNN custom operations are on" in loud and "keep me" in loud


def test_plotting_and_scikit_image_are_imported_when_used_and_figures_while_the_tasks_run():
    """The runner's start-up leaves out matplotlib (figures, drawn at the end) and scikit-image (SSIM,
    HOG, the edge detector: it brings scipy.ndimage); each comes in with its first use, and
    ``imported_meanwhile`` brings the figures' modules on a thread (joined when its block ends)."""
    code = ("import sys\nimport numpy as np\n"
            "import sanity_checks.cli.randomization, sanity_checks.cli.options, sanity_checks.checks.controls\n"
            "from sanity_checks import edge, metrics\n"
            "def loaded():\n"
            "    return sorted(m for m in ('matplotlib.pyplot', 'skimage', 'scipy.ndimage') if m in sys.modules)\n"
            "print(loaded())\n"
            "rng = np.random.default_rng(0)\n"
            "a, b = rng.random((16, 16)), rng.random((16, 16))\n"
            "print(round(metrics.spearman_abs(a, b), 6), loaded())\n"
            "print(edge.edge_detector(a).shape, loaded())\n"
            "from sanity_checks.cli.meanwhile import imported_meanwhile\n"
            "with imported_meanwhile(('sanity_checks.experiments.result_figures', 'no_such_module_x')) as thread:\n"
            "    pass\n"
            "print(thread.is_alive(), loaded())\n")
    out = _run(code)
    assert out.returncode == 0, out.stderr[-2000:]
    first, spearman, edges, meanwhile = out.stdout.splitlines()
    assert first == "[]"
    assert spearman.endswith(" []")   # Spearman needs neither
    assert edges == "(16, 16) ['scipy.ndimage', 'skimage']"
    assert meanwhile == "False ['matplotlib.pyplot', 'scipy.ndimage', 'skimage']"
