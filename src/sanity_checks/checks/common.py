"""What the checks share: per-image seeding, tidy rows, the methods' maps beside the controls."""
from dataclasses import dataclass, field

import numpy as np

from .. import by_image
from ..errors import SanityCheckError
from ..methods import available_methods
from . import controls

#: Columns of a check's tidy rows. ``state``: the model state or variant a map comes from;
#: ``reference``: what it is compared with; ``detail``: a check-specific note (e.g. the class).
COLUMNS = ("check", "image", "method", "order", "step_index", "state", "metric", "value", "detail")


#: Metrics of the rows that mark a constant map (all one value: all zero, or not finite and set to zeros by the
#: method, ``methods.base.finish``), value 1.0, with the fields of the similarity rows it stands beside. A
#: constant *reference* map (the trained model's; the explained class's) says nothing, so it makes the method's
#: cell invalid; a constant *compared* map (after randomization or the shift; another class's) is a real
#: change, judged as such, and counted in the report.
CONSTANT_REFERENCE = "constant_map_reference"
CONSTANT_COMPARED = "constant_map_compared"


class CheckError(SanityCheckError):
    """A check that cannot run on this model or with these settings."""


@dataclass
class CheckResult:
    rows: list                                 # tidy rows, COLUMNS
    settings: dict                             # every setting used (written beside the rows)
    maps: dict = field(default_factory=dict)   # {name: array} a few images' maps, for figures


def merged_settings(defaults, settings):
    """``defaults`` updated by ``settings``; unknown keys raise :class:`CheckError` naming the valid ones."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise CheckError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(defaults)}")
    return {**defaults, **settings}


def method_names(model, methods=None):
    """The methods to check (default: all the model supports), without the edge detector (a control here)."""
    names = list(methods) if methods else available_methods(model)
    return [m for m in names if m != "edge"]


def check_ids(images, image_ids):
    ids = np.asarray(image_ids, dtype=np.int64)
    if ids.shape != (len(images),):
        raise CheckError(f"need one image id per image ({len(images)}), got {ids.shape}")
    if len(set(ids.tolist())) != len(ids):
        raise CheckError("image ids must be distinct (they seed each image's random draws)")
    return ids


def maps_with_controls(model, images, image_ids, methods, classes, seed, method_settings, state,
                       control_images=None, rows_per_image=1, keys=None):
    """{method or control: (N, H, W, C) float32} at the model state the session holds now.

    ``state`` names the state for the random control, drawn fresh per (image, state).
    ``control_images``: what the edge control sees (default ``images``). The methods explain the
    images (each of ``rows_per_image`` rows, e.g. its noisy copies) in blocks keyed by ``keys``, one per
    image (default the id of its first row; ``sanity_checks.by_image``).
    """
    masks = by_image.masks(model, images, image_ids, methods, classes, seed, method_settings, rows_per_image, keys)
    masks.update(controls.control_maps(images if control_images is None else control_images, image_ids, seed,
                                       state))
    return masks


def row(check, image, method, metric, value, state="", order="", step_index=0, detail=""):
    return {"check": check, "image": int(image), "method": method, "order": order, "step_index": int(step_index),
            "state": state, "metric": metric, "value": float(value), "detail": detail}


def is_constant(mask):
    """Whether a map carries no ranking: all one value, or not finite."""
    values = np.asarray(mask).ravel()
    return not np.isfinite(values).all() or bool(values.min() == values.max())


def constant_rows(check, image, method, reference=None, compared=None, **fields):
    """The :data:`CONSTANT_REFERENCE` / :data:`CONSTANT_COMPARED` rows of one (method, image) whose reference
    or compared map is constant (none otherwise); ``fields``: those of the similarity rows beside them."""
    return [row(check, image, method, metric, 1.0, **fields)
            for metric, mask in ((CONSTANT_REFERENCE, reference), (CONSTANT_COMPARED, compared))
            if mask is not None and is_constant(mask)]
