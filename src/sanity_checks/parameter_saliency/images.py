"""Where parameter saliency's images, labels, class names and reference set come from (:class:`Source`).

Images and reference statistics come from the model's own data set (``metadata.json`` names it:
test images by id, statistics over the validation split) or, for models without one (Inception v3),
from an ImageFolder-like directory (``--imagenet_val_path``): ``<root>/<class>/<image>``, class
folders and files sorted as torchvision's ImageFolder (``--reference_id`` counts in that order). A
folder's label: its WordNet id for Inception v3 (n01440764 -> 1, tf-slim's class 0 is background),
its number for folders named 0, 1, ..., else its sorted position (+1 if the model has one class more).
"""
import numpy as np

from .. import user_images
from ..errors import SanityCheckError
from ..images import input_range, read_image
from .statistics import reference_from_arrays, reference_from_folder


class Source:
    """Where a model's images, labels and class names come from."""

    def __init__(self, model, data_root="data", imagenet_val_path=None, user=None):
        from ..data import ALIASES, NAMES, load_dataset
        from ..images import image_folder

        self.model, self.data, self.folder = model, None, None
        self.preprocess = None      # set for images named by the user_images options
        name = getattr(model, "metadata", {}).get("data")
        if user_images.requested(user) and not imagenet_val_path:
            self.data = user_images.load(model, None, user, data_root)
            if self.data.y_test is None:
                raise SanityCheckError("parameter saliency needs each image's true label: pass --labels "
                                       "(one integer per line, in image order)")
            self.preprocess = self.data.preprocess
            self.description = self.data.name + (" test set" if user.get("data") else "")
        elif imagenet_val_path:
            self.folder = image_folder(imagenet_val_path)
            self.label_of_folder = folder_labels(self.folder.classes, model.architecture)
            self.description = f"image folder {imagenet_val_path}"
        elif name in NAMES or name in ALIASES:
            self.data = load_dataset(name, root=data_root)
            self.description = f"{self.data.name} test set"
        else:
            raise SanityCheckError(f"no built-in images for this model (data set {name!r}): pass --image-dir, --npy "
                                   f"or --data with --labels, or --imagenet_val_path (<root>/<class>/<image>)")
        self.class_names = self.data.class_names if self.data else class_names(model.architecture)

    def read(self, path):
        """One image file (or .npy) as the model's input."""
        if self.preprocess is not None or getattr(self.model, "metadata", {}).get("source") == "keras":
            return user_images.read_file(path, self.model, self.preprocess or "0-1")
        return read_image(path, self.model.architecture)

    def input_range(self):
        """The input range figures show the images in."""
        if self.preprocess is not None:
            return user_images.display_range(self.preprocess)
        return input_range(self.model.architecture)

    def __len__(self):
        return len(self.data.x_test) if self.data else len(self.folder)

    def item(self, index):
        """Test image ``index`` (or the folder's image ``index``) and its label."""
        if not 0 <= index < len(self):
            raise SanityCheckError(f"--reference_id {index} is out of range: the {self.description} has "
                                   f"{len(self)} images (ids 0..{len(self) - 1})")
        if self.data:
            return self.data.x_test[index], int(self.data.y_test[index])
        return read_image(self.folder.paths[index], self.model.architecture), \
            int(self.label_of_folder[self.folder.targets[index]])

    def reference(self, limit=None):
        if self.data:
            return reference_from_arrays(self.data.x_val, self.data.y_val, f"{self.data.name} validation split",
                                         limit)
        return reference_from_folder(self.folder, self.model.architecture, self.label_of_folder, limit)

    def misclassified(self, max_images, seed=0):
        """Up to ``max_images`` misclassified images, labels and ids: the test set in order, or a
        folder in a seeded random order, read in chunks (only the misclassified ones are kept)."""
        from ..experiments.pruning import misclassified

        if self.data:
            ids = misclassified(self.model, self.data.x_test, self.data.y_test, max_images)
            return self.data.x_test[ids], self.data.y_test[ids], ids
        order = np.random.default_rng(seed).permutation(len(self))
        kept = []
        for start in range(0, len(order), 32):
            chunk = order[start:start + 32]
            items = [self.item(int(i)) for i in chunk]
            x, y = np.stack([im for im, _ in items]), np.array([label for _, label in items])
            kept += [(x[j], y[j], chunk[j]) for j in misclassified(self.model, x, y)]
            if len(kept) >= max_images:
                break
        kept = kept[:max_images]
        if not kept:
            return np.zeros((0,) + tuple(self.model.architecture.input_shape), np.float32), np.zeros(0, int), []
        x, y, ids = zip(*kept)
        return np.stack(x), np.array(y), np.array(ids)

    def name(self, label):
        label = int(label)
        return f"{label} ({self.class_names[label]})" if label < len(self.class_names) else str(label)


def class_names(architecture):
    """Names of the model's classes where known (Inception v3: ImageNet's), else []."""
    if architecture.name == "inception_v3":
        from ..imagenet import class_names as imagenet_names
        return imagenet_names()
    return list(architecture.extra.get("class_names", []))


def folder_labels(classes, architecture):
    """The label of each class folder: by WordNet id (n01440764, ...) for Inception v3, by number for
    folders named 0, 1, ..., else sorted position + 1 if the model has one class more (background 0)."""
    num_classes = architecture.num_classes
    if architecture.name == "inception_v3" and all(c.startswith("n") for c in classes):
        from ..imagenet import wordnet_id
        by_id = {wordnet_id(k): k for k in range(1, num_classes)}
        unknown = [c for c in classes if c not in by_id]
        if not unknown:
            return np.array([by_id[c] for c in classes])
        raise SanityCheckError(f"class folders that are no ImageNet WordNet id: {', '.join(unknown[:5])}")
    if all(c.isdigit() for c in classes) and all(int(c) < num_classes for c in classes):
        return np.array([int(c) for c in classes])
    if num_classes - len(classes) in (0, 1):
        return np.arange(len(classes)) + num_classes - len(classes)
    raise SanityCheckError(f"cannot map {len(classes)} class folders to the {num_classes} classes of "
                           f"{architecture.name}: name them by class id (0, 1, ...)")
