"""Inception v3 on ImageNet: the pretrained checkpoint, image preprocessing and class names.

- :func:`load_inception_v3` reads a model folder holding the public TF-slim checkpoint
  ``inception_v3.ckpt`` (the single V1 file of ``inception_v3_2016_08_28.tar.gz``; a V2
  ``inception_v3.ckpt.index`` + ``.data-*`` pair is accepted too). ``loading.load_model`` sends such
  folders here. The checkpoint's variable names and shapes are compared with the graph before
  anything is restored, so a checkpoint of another network or class count is refused by name.
- :func:`write_random_checkpoint` writes a randomly initialized checkpoint in the same layout, for
  tests, timing and notebooks run without the real weights (the loaded model says so in its
  metadata); :func:`pretrained_or_random` picks the real checkpoint when it is there.
- :func:`load_image_dir`: a folder of images (the demo photographs of ``doc/data``) as inputs.
- :func:`load_image`: the original's ``LoadImage``: PIL RGB, resized to 299x299 with Lanczos
  (PIL's old ``ANTIALIAS``), scaled to [-1, 1] by ``x / 127.5 - 1``.
- :func:`class_names`: 1001 names for the model's outputs, 0 = 'background', k = ImageNet class
  k - 1 (``data_files/imagenet_class_index.json``, Keras' names).
"""
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

from .errors import DataError, ModelError
from .files import cache_lock
from .images import read_pixels
from .model import METADATA_NAME, GraphModel

CHECKPOINT_NAME = "inception_v3.ckpt"
DEFAULT_FOLDER = os.path.join("models", "inceptionv3")
ARCHIVE = "inception_v3_2016_08_28.tar.gz"
DOWNLOAD_URL = "http://download.tensorflow.org/models/" + ARCHIVE
#: Written beside a checkpoint by :func:`write_random_checkpoint`: its weights are not trained.
RANDOM_MARKER = "random_weights.json"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
BACKGROUND = "background"


# ---------------------------------------------------------------------------------- checkpoint
def checkpoint_prefix(folder):
    """``folder/inception_v3.ckpt`` if it holds that checkpoint (V1 file or V2 index), else None."""
    prefix = os.path.join(folder, CHECKPOINT_NAME)
    if os.path.isfile(prefix) or os.path.isfile(prefix + ".index"):
        return prefix
    return None


def is_inception_folder(folder):
    """Whether ``load_model`` should treat ``folder`` as an Inception v3 folder: it holds
    ``inception_v3.ckpt`` and no ``metadata.json``, or it is missing or empty of both and its
    name says inception (so the user gets the download steps, not a generic error)."""
    if os.path.isfile(os.path.join(folder, METADATA_NAME)):
        return False
    if checkpoint_prefix(folder):
        return True
    return "inception" in os.path.basename(os.path.normpath(folder)).lower()


def missing_checkpoint_message(folder=DEFAULT_FOLDER):
    expected = os.path.join(folder, CHECKPOINT_NAME)
    return (f"no Inception v3 checkpoint {expected}: download {DOWNLOAD_URL} and unpack it with "
            f"`mkdir -p {folder} && tar -xzf {ARCHIVE} -C {folder}`")


def load_inception_v3(folder=DEFAULT_FOLDER):
    """A :class:`~sanity_checks.model.GraphModel` of Inception v3 with the checkpoint in ``folder``.

    Raises :class:`ModelError` if the checkpoint is missing (saying how to get it) or does not fit
    the architecture (listing the variables that differ). ``model.metadata`` names the architecture,
    the data ('imagenet') and where the weights come from.
    """
    prefix = checkpoint_prefix(folder)
    if prefix is None:
        raise ModelError(missing_checkpoint_message(folder))
    marker = os.path.join(folder, RANDOM_MARKER)
    if os.path.isfile(marker):
        with open(marker) as f:
            seed = json.load(f).get("seed")
        source = f"random weights (seed {seed}), written by sanity_checks.imagenet.write_random_checkpoint"
    else:
        source = f"TF-slim checkpoint ({ARCHIVE})"
    model = GraphModel("inception_v3")
    try:
        model.restore(prefix, remedy="write it again with sanity_checks.imagenet.write_random_checkpoint"
                      if os.path.isfile(marker) else f"download {DOWNLOAD_URL} again and unpack it into {folder}")
    except BaseException:
        model.close()
        raise
    model.metadata = {"architecture": "inception_v3", "data": "imagenet", "data_source": source,
                      "labels": "true", "checkpoint": os.path.abspath(prefix), "random_weights": os.path.isfile(marker)}
    return model


def write_random_checkpoint(folder, seed=0, overwrite=False):
    """Write a randomly initialized Inception v3 as ``folder/inception_v3.ckpt`` (V2) and a marker.

    The initial weights are the architecture's own initializers drawn with graph seed ``seed``; the
    batch-norm moving statistics are TF's defaults (mean 0, variance 1). Refuses to replace an
    existing checkpoint unless ``overwrite``. Returns the checkpoint prefix.
    """
    from .compat import tf1
    from .files import atomic_folder

    if checkpoint_prefix(folder) and not overwrite:
        raise ModelError(f"{folder} already holds {CHECKPOINT_NAME}; pass overwrite=True to replace it")
    others = [f for f in (os.listdir(folder) if os.path.isdir(folder) else [])
              if not f.startswith((CHECKPOINT_NAME, RANDOM_MARKER, "checkpoint"))]
    if others:  # the folder is replaced as a whole: never take a user's other files with it
        raise ModelError(f"{folder} holds other files ({', '.join(sorted(others)[:3])}); "
                         "write the random checkpoint to an empty or new folder")
    with atomic_folder(folder) as tmp:  # complete or absent: safe for notebooks running side by side
        with GraphModel("inception_v3", seed=seed) as model, model.graph.as_default():
            saver = tf1.train.Saver(var_list=model.variables)
            saver.save(model.session, os.path.join(tmp, CHECKPOINT_NAME), write_meta_graph=False, write_state=False)
        with open(os.path.join(tmp, RANDOM_MARKER), "w") as f:
            json.dump({"seed": int(seed), "note": "randomly initialized Inception v3, not the trained weights"}, f)
    return os.path.join(folder, CHECKPOINT_NAME)


def pretrained_or_random(folder=DEFAULT_FOLDER, random_folder=None, seed=0):
    """``(folder, True)`` if ``folder`` holds the checkpoint; else ``(random_folder, False)`` after
    writing a random checkpoint there once (default: ``sanity_checks_random_inceptionv3`` in the
    temporary directory, reused by later calls). For notebooks and demos that must run everywhere.
    """
    if checkpoint_prefix(folder):
        return folder, True
    if random_folder is None:
        import tempfile
        random_folder = os.path.join(tempfile.gettempdir(), "sanity_checks_random_inceptionv3")
    with cache_lock(random_folder):   # another process writing it: wait, then reuse it
        if not (checkpoint_prefix(random_folder) and os.path.isfile(os.path.join(random_folder, RANDOM_MARKER))):
            write_random_checkpoint(random_folder, seed=seed, overwrite=True)
    return random_folder, False


#: The original Inception notebooks' methods, in their column order.
NOTEBOOK_METHODS = ["gradient", "smoothgrad", "gradient_x_input", "guided_backprop", "gradcam", "guided_gradcam",
                    "integrated_gradients", "ig_smoothgrad"]
#: Few noise samples and path points: a smoke-test setting for notebooks and CI, not for numbers.
QUICK_SETTINGS = {"smoothgrad": {"nsamples": 2}, "vargrad": {"nruns": 2}, "integrated_gradients": {"x_steps": 4},
                  "ig_smoothgrad": {"nsamples": 2, "x_steps": 4}}


# ---------------------------------------------------------------------------------- images
def load_image(path, size=299):
    """The original's ``LoadImage``: RGB, resized to ``size`` x ``size`` with Lanczos, in [-1, 1].

    Returns float32 (size, size, 3). Raises :class:`DataError` for a missing or unreadable file.
    """
    return read_pixels(path, (size, size, 3), (-1.0, 1.0))


def image_files(folder):
    """The image files of ``folder`` (by extension), sorted by name."""
    if not os.path.isdir(folder):
        raise DataError(f"image folder {folder} does not exist")
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return [os.path.join(folder, f) for f in files]


def load_images(paths, size=299):
    """(N, size, size, 3) float32 in [-1, 1] from a list of image files."""
    return np.stack([load_image(p, size) for p in paths])


@dataclass
class ImageSet:
    """Image files as model inputs, shaped like a data set's test split (no labels)."""

    name: str
    files: list
    x_test: np.ndarray               # (N, 299, 299, 3) float32 in [-1, 1]
    y_test: Optional[np.ndarray] = None


def load_image_dir(folder, n=None):
    """The first ``n`` (default: all) images of ``folder`` in name order, as an :class:`ImageSet`."""
    if n is not None and n < 1:
        raise DataError(f"need at least one image, got {n}")
    files = image_files(folder)[:n]
    return ImageSet(f"ImageNet-style images ({folder})", files, load_images(files))


def to_display(images):
    """Model inputs in [-1, 1] -> [0, 1] for plotting."""
    return np.clip((np.asarray(images) + 1.0) / 2.0, 0.0, 1.0)


# ---------------------------------------------------------------------------------- classes
@lru_cache(maxsize=1)
def class_index():
    """{0..999: (WordNet id, name)}: the 1000 ImageNet classes, Keras' ``imagenet_class_index.json``."""
    path = os.path.join(os.path.dirname(__file__), "data_files", "imagenet_class_index.json")
    with open(path) as f:
        raw = json.load(f)
    return {int(k): tuple(v) for k, v in raw.items()}


def class_names():
    """1001 names, one per Inception v3 output: 0 'background', k the ImageNet class k - 1."""
    index = class_index()
    return [BACKGROUND] + [index[k][1] for k in range(len(index))]


def class_name(k):
    """Name of Inception v3 output ``k`` (0..1000)."""
    names = class_names()
    if not 0 <= int(k) < len(names):
        raise ModelError(f"class ids are 0..{len(names) - 1}, got {k}")
    return names[int(k)]


def wordnet_id(k):
    """WordNet id of Inception v3 output ``k`` (1..1000; 0, background, has none)."""
    if int(k) == 0:
        return None
    return class_index()[int(k) - 1][0]


def top_classes(model, images, top=1):
    """[(class id, name, probability), ...] (``top`` per image, best first) for each image."""
    logits = model.predict_logits(images)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = shifted / shifted.sum(axis=1, keepdims=True)
    order = np.argsort(-probs, axis=1)[:, :top]
    names = class_names() if model.architecture.num_classes == len(class_names()) else None
    return [[(int(k), names[k] if names else str(k), float(p[k])) for k in row] for row, p in zip(order, probs)]


def describe_predictions(model, images, labels=None):
    """One line per image: its label (e.g. the file name) and the model's top class with probability."""
    labels = labels if labels is not None else [f"image {i}" for i in range(len(images))]
    return "\n".join(f"  {label}: class {k} {name} (p = {p:.3f})"
                     for label, ((k, name, p),) in zip(labels, top_classes(model, images)))
