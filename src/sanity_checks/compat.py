"""TensorFlow 1 compatibility shim. Import this module before TensorFlow, tf-slim or PAIR saliency.

Why it exists:
- tf-slim's layers (``slim.batch_norm``, ``slim.conv2d``...) are built on the legacy ``tf.layers``.
  TensorFlow 2.16+ ships Keras 3 and serves those legacy layers from the separate ``tf-keras``
  package, importing them as ``tf_keras.legacy_tf_layers``. Current tf-keras moved that package to
  ``tf_keras.src.legacy_tf_layers``, so the first batch norm raises
  ``ModuleNotFoundError: No module named 'tf_keras.legacy_tf_layers'``. We register the old module
  path as an alias of the new one: no TensorFlow pin, no monkey patch of TensorFlow itself.
- The whole toolkit works with ``tf.compat.v1`` graphs and sessions, so eager execution is turned off
  once, here, for the process.

Usage::

    from sanity_checks.compat import tf, tf1, slim
"""
import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

# Quiet TensorFlow's C++ start-up banner (oneDNN, CUDA probing) unless the user asked for it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_OLD = "tf_keras.legacy_tf_layers"
_NEW = "tf_keras.src.legacy_tf_layers"


class _LegacyLayersAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``tf_keras.legacy_tf_layers[.x]`` as the module ``tf_keras.src.legacy_tf_layers[.x]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _OLD and not fullname.startswith(_OLD + "."):
            return None
        target_name = _NEW + fullname[len(_OLD):]
        if importlib.util.find_spec(target_name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname == _OLD)

    def create_module(self, spec):
        return importlib.import_module(_NEW + spec.name[len(_OLD):])

    def exec_module(self, module):
        pass  # the aliased module is already executed


def _install_alias():
    try:
        importlib.import_module(_OLD)
        return  # an older tf-keras (or a future fix) still has the path: nothing to do
    except ImportError:
        pass
    if importlib.util.find_spec("tf_keras") is None:
        return  # TensorFlow < 2.16 keeps the legacy layers inside TensorFlow itself
    if not any(isinstance(f, _LegacyLayersAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, _LegacyLayersAlias())


#: TensorFlow's native start-up lines. They are written by absl before its logging is set up, so
#: TF_CPP_MIN_LOG_LEVEL does not reach them (TF 2.21): without a GPU they are pure noise.
_BANNER = re.compile(r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
                     r"cudart_stub\.cc.*Could not find cuda drivers|cuda_platform\.cc.*failed call to cuInit|"
                     r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
                     r"TF-TRT Warning|cpu_feature_guard\.cc|To enable the following instructions")


@contextlib.contextmanager
def native_banner_filtered():
    """Catch what native code writes to file descriptor 2 meanwhile; give back all but the banner.

    Off when TF_CPP_MIN_LOG_LEVEL is 0 (the user asked for TensorFlow's logs) or stderr has no
    file descriptor (some notebook front ends).
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not _BANNER.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


with native_banner_filtered():
    _install_alias()   # finding tf_keras imports TensorFlow: the banner comes here

    import tensorflow as tf  # noqa: E402

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    tf.get_logger().setLevel("ERROR")

    import tf_slim as slim  # noqa: E402

__all__ = ["tf", "tf1", "slim", "native_banner_filtered"]
