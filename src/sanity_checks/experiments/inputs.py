"""What a run explains, and how any process gets it: the model and the test images.

The command-line runners choose the images here (:func:`test_images`), and every worker of a pool,
a shard or a Dask cluster loads the same model and images again from the run's JSON config
(:class:`ModelAndImages`), without importing any command-line code.
"""
import os

import numpy as np

from .. import user_images
from ..errors import SanityCheckError


#: Test images on which each model state's accuracy is measured by default. Its standard error is
#: at most 1.6 points (sqrt(0.25 / 1000)): enough to tell a trained model (85-99%) from a damaged one
#: and to follow the noise test's accuracy curve, at a tenth of the cost of the 10,000 test images
#: (which took 8 s of a 17 s run of 100 images on 2 cores).
DEFAULT_EVAL_IMAGES = 1000


def eval_subset(data, n):
    """The first ``n`` test images and labels (all for None), or None if ``n`` is 0 or there are no labels."""
    if data.y_test is None or n == 0:
        return None
    n = len(data.x_test) if n is None else min(n, len(data.x_test))
    return data.x_test[:n], data.y_test[:n]


def test_images(model, n, data_root="data", image_dir=None, first=0, user=None, verbose=True):
    """Test images ``first`` .. ``first + n - 1`` of the data set the model was trained on, and their labels.

    ImageNet models (Inception v3) take the first ``n`` image files of ``image_dir`` (default
    doc/data) instead, preprocessed as the original, with no labels. Models without a data set of
    their own (Keras models), or any model given ``user`` image options (``user_images.options``:
    ``--image-dir``, ``--npy``, ``--data``, ``--preprocess``, ``--labels``), take those images.
    ``verbose``: print the data set's source line (a worker's loading does not repeat it).
    """
    from ..data import load_dataset

    name = getattr(model, "metadata", {}).get("data")
    if first < 0:
        raise SanityCheckError(f"--first-image must be >= 0, got {first}")
    if name == "imagenet":
        if first:
            raise SanityCheckError("--first-image applies to MNIST and Fashion-MNIST models; "
                                   "for ImageNet choose the files with --image-dir")
        from ..imagenet import load_image_dir
        data = load_image_dir(image_dir or os.path.join("doc", "data"), n)
        return data, data.x_test, data.y_test
    user = dict(user or {}, image_dir=image_dir or (user or {}).get("image_dir"))
    if name is None or user_images.requested(user):
        data = user_images.load(model, first + n, user, data_root)
        if first:
            if first >= len(data.x_test):
                raise SanityCheckError(f"--first-image {first}: there are {len(data.x_test)} images")
            data = user_images.skip(data, first)
        return data, data.x_test, data.y_test
    data = load_dataset(name, root=data_root, verbose=verbose, test_only=True)   # no training images used here
    if not 0 < n <= len(data.x_test) - first:
        raise SanityCheckError(f"--images must be in 1..{len(data.x_test) - first} "
                               f"({len(data.x_test)} test images, from --first-image {first}), got {n}")
    return data, data.x_test[first:first + n], data.y_test[first:first + n]


def load_images_from(config, model):
    return test_images(model, config["n_images"], config.get("data_root", "data"), config.get("image_dir"),
                       config.get("first_image", 0), config.get("user_images"), verbose=False)


def load_model_from(config, key="model"):
    """The model ``config[key]`` with its loading options (``random_loading`` for the random-label model,
    where it has its own, e.g. a PyTorch model's weights)."""
    from ..loading import load_model
    options = config.get("random_loading") if key == "random_model" and "random_loading" in config else None
    return load_model(config[key], **(options if options is not None else config.get("loading", {})))


class ModelAndImages:
    """What every runner shares: the model and the images, loaded once per process from the run's config."""

    def __init__(self, config, model=None, data=None):
        self.config = config
        self.model = model if model is not None else load_model_from(config)
        self._data = data

    @property
    def data(self):
        if self._data is None:
            self._data = load_images_from(self.config, self.model)
        return self._data

    def task_images(self, task):
        """(positions, ids, images) of a task: tasks count images from 0; rows and noise use their ids."""
        positions = np.asarray(task.images, dtype=np.int64)
        ids = np.asarray(self.config["image_ids"], dtype=np.int64)[positions]
        return positions, ids, self.model.check_images(self.data[1][positions])


def absolute_paths(options):
    """User image options with absolute paths: workers may start elsewhere."""
    out = dict(options or {})
    for key in ("image_dir", "npy", "labels"):
        if out.get(key):
            out[key] = os.path.abspath(out[key])
    return out


def identity(model_folder, data, random_model_folder=None, loading=None, random_loading=None):
    """What names the inputs in the run's manifest: the models' contents (``loading``, ``random_loading``:
    their loading options, e.g. a PyTorch model's weights file) and the images."""
    from ..loading import model_identity

    out = {"checkpoint": model_identity(model_folder, loading)}
    if random_model_folder:
        out["random_checkpoint"] = model_identity(random_model_folder, random_loading or loading)
    if data is not None:
        out["data"] = getattr(data[0], "name", None)
        files = getattr(data[0], "files", None)
        if files:
            out["image_files"] = [os.path.basename(f) for f in files]
    return out
