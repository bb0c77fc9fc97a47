"""The reference statistics that standardize a profile: reference sets, one streaming float64 pass, and their
cache beside the model."""
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import OutputError, SanityCheckError
from ..files import atomic_path, save_json

STD_FLOOR = 1e-14            # a reference std below this is replaced by 1 (the original's rule)
STATS_BASENAME = "parameter_saliency_stats"
STATS_FORMAT = 1


@dataclass
class SaliencyStats:
    """Per-filter mean and unbiased std of the naive profile over a reference set (float64)."""
    mean: np.ndarray
    std: np.ndarray          # std < STD_FLOOR already replaced by 1
    count: int
    settings: dict = field(default_factory=dict)
    from_cache: bool = False

    def standardize(self, profiles):
        return (np.asarray(profiles, dtype=np.float64) - self.mean) / self.std


class RunningStats:
    """Streaming mean and sum of squared deviations in float64, merged batch by batch (Chan et al.)."""

    def __init__(self, size):
        self.count, self.mean, self.m2 = 0, np.zeros(size), np.zeros(size)

    def update(self, batch):
        batch = np.asarray(batch, dtype=np.float64).reshape(-1, len(self.mean))
        n = len(batch)
        if n == 0:
            return
        batch_mean = batch.mean(axis=0)
        delta = batch_mean - self.mean
        total = self.count + n
        self.m2 += ((batch - batch_mean) ** 2).sum(axis=0) + delta ** 2 * (self.count * n / total)
        self.mean += delta * (n / total)
        self.count = total

    def result(self, settings=None):
        if self.count < 2:
            raise SanityCheckError(f"reference statistics need at least 2 images, got {self.count}")
        std = np.sqrt(self.m2 / (self.count - 1))
        return SaliencyStats(self.mean.copy(), np.where(std < STD_FLOOR, 1.0, std), self.count, settings or {})


@dataclass
class ReferenceSet:
    """Images the statistics are taken over, read batch by batch (a folder need not fit in memory)."""
    description: str
    fingerprint: str                     # changes whenever the images or labels change
    count: int
    load: Callable = field(repr=False)   # (positions array) -> (images, labels)

    def batches(self, size=64):
        for start in range(0, self.count, size):
            yield self.load(np.arange(start, min(start + size, self.count)))


def _spread(n, limit):
    """``limit`` evenly spaced positions of ``n`` (all if limit is None): class-balanced for sorted folders."""
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 2:
        raise SanityCheckError(f"need at least 2 reference images, got a limit of {limit}")
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def reference_from_arrays(images, labels, description, limit=None):
    """A reference set of in-memory images (N, H, W, C) and labels; ``limit`` evenly spaced ones."""
    total = len(images)
    keep = _spread(total, limit)
    images, labels = np.asarray(images)[keep], np.asarray(labels)[keep]
    digest = hashlib.sha256(np.ascontiguousarray(images, np.float32).tobytes())
    digest.update(np.asarray(labels, np.int64).tobytes())
    return ReferenceSet(f"{description} ({len(keep)} of {total} images)", digest.hexdigest(), len(keep),
                        lambda pos: (images[pos], labels[pos]))


def reference_from_folder(folder, architecture, folder_labels=None, limit=None):
    """A reference set of an :class:`~sanity_checks.images.ImageFolder`; ``folder_labels[class index]``
    is the model's label of each class folder (default: the class index)."""
    from ..images import read_image

    folder_labels = np.arange(len(folder.classes)) if folder_labels is None else np.asarray(folder_labels)
    keep = _spread(len(folder), limit)
    digest = hashlib.sha256(folder_labels.astype(np.int64).tobytes())
    for i in keep:
        st = os.stat(folder.paths[i])
        digest.update(f"{os.path.relpath(folder.paths[i], folder.root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())

    def load(pos):
        idx = keep[pos]
        return (np.stack([read_image(folder.paths[i], architecture) for i in idx]),
                folder_labels[folder.targets[idx]])

    return ReferenceSet(f"{folder.root} ({len(keep)} of {len(folder)} images)", digest.hexdigest(), len(keep), load)


def reference_stats(saliency, reference, progress=False, batch_size=64):
    """Mean and unbiased std of the naive profile over ``reference`` (a :class:`ReferenceSet`)."""
    from tqdm.auto import tqdm

    running = RunningStats(saliency.n_filters)
    with tqdm(total=reference.count, desc="reference saliency", unit="image", disable=not progress,
              mininterval=1.0) as bar:
        for images, labels in reference.batches(batch_size):
            running.update(saliency.profiles(images, labels))
            bar.update(len(images))
    return running.result()


def weights_fingerprint(model):
    """sha256 of the weights the session holds now (names, shapes, dtypes, bytes)."""
    digest = hashlib.sha256()
    for name, value in sorted(model.get_weights().items()):
        digest.update(f"{name}:{value.dtype}:{value.shape}\n".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def stats_paths(folder, saliency):
    """``<folder>/parameter_saliency_stats[_signed][_dense].{npz,json}``: one cache per kind of profile."""
    name = STATS_BASENAME + ("_signed" if saliency.signed else "") + ("_dense" if saliency.dense else "")
    return os.path.join(folder, name + ".npz"), os.path.join(folder, name + ".json")


def _settings_digest(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def cached_reference_stats(saliency, reference, folder, progress=False, log=print):
    """Reference statistics, read from ``folder`` when the cache matches, else computed and written there.

    The cache is two files beside the model (see :func:`stats_paths`), each written atomically; the
    JSON holds the settings (architecture, aggregation, layers, reference set fingerprint, and the
    sha256 of the weights the session holds), the npz the arrays and the digest of those settings.
    Any difference recomputes. Nothing else in ``folder`` is written (checkpoints are never touched).
    """
    settings = {"format": STATS_FORMAT, **saliency.settings(), "weights_sha256": weights_fingerprint(saliency.model),
                "reference": {"description": reference.description, "fingerprint": reference.fingerprint,
                              "count": reference.count}}
    digest = _settings_digest(settings)
    npz_path, json_path = stats_paths(folder, saliency)
    if os.path.isfile(npz_path) and os.path.isfile(json_path):
        try:
            with open(json_path) as f:
                stored = json.load(f)
            with np.load(npz_path, allow_pickle=False) as cached:
                if stored == settings and str(cached["settings_sha256"]) == digest:
                    return SaliencyStats(cached["mean"], cached["std"], int(cached["count"]), settings,
                                         from_cache=True)
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: recompute below
        log(f"reference statistics in {npz_path} are for other settings or weights: recomputing")
    log(f"computing parameter-saliency statistics over {reference.description}")
    stats = reference_stats(saliency, reference, progress=progress)
    stats.settings = settings
    try:
        with atomic_path(npz_path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, mean=stats.mean, std=stats.std, count=stats.count, settings_sha256=digest)
        save_json(settings, json_path)
    except OutputError as err:   # a read-only or full model folder: the run goes on without the cache
        log(f"note: statistics not cached ({err})")
    return stats
