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

Only TensorFlow is imported here. tf-slim and tf-keras cost over a second of start-up and only
Inception v3 needs them, so they are imported on first use (:func:`load_slim`): the alias is a
cheap import hook installed now, and it looks at tf-keras only when something imports the old path.
Code that loads Keras models imports ``keras`` / ``tf_keras`` itself, where it needs them.

Usage::

    from sanity_checks.compat import tf, tf1     # TensorFlow, tf.compat.v1 (graph mode)
    from sanity_checks import compat
    slim = compat.load_slim()                    # tf-slim, imported on the first call
    # ``compat.slim`` (or ``from sanity_checks.compat import slim``) is the same, imported on access
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
    """Serves ``tf_keras.legacy_tf_layers[.x]`` as the module ``tf_keras.src.legacy_tf_layers[.x]``.

    Installed at import time but inert until something imports the old path (tf-slim's layers do):
    only then, with ``tf_keras`` already imported as the parent package, does it look whether that
    tf-keras still ships the old path itself (older releases), and steps aside if so.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _OLD and not fullname.startswith(_OLD + "."):
            return None
        if _old_path_is_real():
            return None
        target_name = _NEW + fullname[len(_OLD):]
        if importlib.util.find_spec(target_name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname == _OLD)

    def create_module(self, spec):
        return importlib.import_module(_NEW + spec.name[len(_OLD):])

    def exec_module(self, module):
        pass  # the aliased module is already executed


def _old_path_is_real():
    """Whether the imported ``tf_keras`` package has ``legacy_tf_layers`` itself (no alias needed)."""
    package = sys.modules.get("tf_keras")
    return any(os.path.exists(os.path.join(folder, "legacy_tf_layers"))
               or os.path.exists(os.path.join(folder, "legacy_tf_layers.py"))
               for folder in getattr(package, "__path__", []))


def _install_alias():
    """Put the alias first on the import path; cheap (imports nothing), and done once per process."""
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


#: The modules TensorFlow 2.16+ imports at the end of ``import tensorflow`` "so that optimizers register in
#: the SavedModel registry" (its __init__, inside ``try: ... except ImportError: pass``).
_KERAS_EAGER_LOAD = ("keras.src.optimizers", "tf_keras.src.optimizers")


@contextlib.contextmanager
def keras_left_for_later():
    """Let ``import tensorflow`` skip its eager import of Keras; Keras loads when something imports it.

    That eager import pulls all of Keras 3 (and pandas, matplotlib and IPython with it): 1.1-1.7 s of a
    2-core machine's start-up, for a run that never touches Keras (our TensorFlow networks, a PyTorch
    model). A ``None`` entry in ``sys.modules`` makes exactly that import raise ImportError at once, which
    TensorFlow's ``try`` takes as "no Keras"; the entries are removed afterwards, so the first real ``import
    keras`` (a Keras model being loaded) runs as usual and registers the optimizers then. Nothing is
    patched; a Keras already imported is left as it is.
    """
    blocked = [name for name in _KERAS_EAGER_LOAD if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_install_alias()  # before anything can import tf-slim's layers

with native_banner_filtered(), keras_left_for_later():   # TensorFlow writes its native start-up banner
    import tensorflow as tf  # noqa: E402

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    tf.get_logger().setLevel("ERROR")
    # The devices are probed here, under the filter, not at the first session: without a GPU that probe
    # writes an ERROR-level `failed call to cuInit` line that TF_CPP_MIN_LOG_LEVEL=2 lets through.
    tf.config.list_physical_devices()


def load_slim():
    """tf-slim (the ``tf_slim`` module), imported on the first call (its layers import tf-keras
    when a network is first built, through the alias above).

    For code that builds tf-slim networks (Inception v3). Everything else never needs it, so a run
    on the MNIST models starts without it.
    """
    if "tf_slim" not in sys.modules:
        _install_alias()  # in case something removed it from sys.meta_path meanwhile
        with native_banner_filtered():
            import tf_slim  # noqa: F401
    return sys.modules["tf_slim"]


def __getattr__(name):
    """``compat.slim``: tf-slim on first access (PEP 562), so old ``from ...compat import slim`` works."""
    if name == "slim":
        return load_slim()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["tf", "tf1", "load_slim", "native_banner_filtered"]
