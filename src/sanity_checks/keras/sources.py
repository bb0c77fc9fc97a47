"""What a Keras source is (a ``.keras``/``.h5`` file, a tf-keras SavedModel folder, a model object),
which Keras wrote it, and the model config it stores: all read without loading the model."""
import json
import os
import sys
import zipfile

from ..errors import ModelError


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
KERAS_METADATA = "keras_metadata.pb"
SAVED_MODEL = "saved_model.pb"


def is_keras_path(path):
    """Whether ``path`` names a Keras source: a ``.keras``/``.h5`` file name or a SavedModel folder."""
    path = os.fspath(path)
    if path.lower().endswith(KERAS_SUFFIXES):
        return True
    return os.path.isdir(path) and (os.path.isfile(os.path.join(path, SAVED_MODEL))
                                    or os.path.isfile(os.path.join(path, KERAS_METADATA)))


def is_keras_model(obj):
    """Whether ``obj`` is a Keras 3 or tf-keras model object (without importing either)."""
    for module_name in ("keras", "tf_keras"):
        module = sys.modules.get(module_name)
        if module is not None and isinstance(obj, module.Model):
            return True
    return False


def keras_flavour(path):
    """('keras' for Keras 3 | 'tf_keras', 'keras' | 'h5' | 'savedmodel'), read without loading the model."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, KERAS_METADATA)):
            return "tf_keras", "savedmodel"
        raise ModelError(
            f"{path} is a SavedModel without Keras metadata (Keras 3 model.export() or tf.saved_model.save): "
            f"its network is one opaque function whose gradients TensorFlow cannot take, so no check could be "
            f"trusted; save the Keras model itself instead, e.g. model.save('model.keras')")
    if not os.path.isfile(path):
        raise ModelError(f"Keras model file {path} does not exist")
    if path.lower().endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as archive:
                meta = json.loads(archive.read("metadata.json"))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
            raise ModelError(f"{path} is not a Keras .keras file ({err})") from None
        return _flavour_of_version(meta.get("keras_version"), path), "keras"
    try:
        import h5py
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version")
            has_config = "model_config" in f.attrs
    except OSError as err:
        raise ModelError(f"{path} is not an HDF5 file ({err})") from None
    if not has_config:
        raise ModelError(f"{path} holds weights only (no model_config): save the whole model "
                         f"(model.save('model.keras')), not model.save_weights")
    return _flavour_of_version(version.decode() if isinstance(version, bytes) else version, path), "h5"


def _flavour_of_version(version, path):
    if not version:
        raise ModelError(f"{path} does not say which Keras wrote it (no keras_version)")
    return "keras" if int(str(version).split(".")[0]) >= 3 else "tf_keras"


def stored_config(path, kind):
    """The model config stored in a Keras source, as JSON objects (read without building anything)."""
    if kind == "keras":
        with zipfile.ZipFile(path) as archive:
            return [json.loads(archive.read("config.json"))]
    if kind == "h5":
        import h5py
        with h5py.File(path, "r") as f:
            raw = f.attrs["model_config"]
        return [json.loads(raw.decode() if isinstance(raw, bytes) else raw)]
    try:
        from tf_keras.protobuf import saved_metadata_pb2
    except ImportError:
        from tf_keras.src.protobuf import saved_metadata_pb2
    meta = saved_metadata_pb2.SavedMetadata()
    with open(os.path.join(path, KERAS_METADATA), "rb") as f:
        meta.ParseFromString(f.read())
    return [json.loads(node.metadata) for node in meta.nodes if node.metadata]
