"""Parameter-space saliency (Levin et al., "Where do Models go Wrong?", REFERENCE section C).

For one image x with its TRUE label y, the loss L = -log softmax(logits)[y] is differentiated with
respect to every convolution kernel of the model (4-D variables, HWIO: (kh, kw, in, out)). Filter f's
saliency is the mean of |dL/dW| over its input channels and kernel positions (the fixed aggregation
of the original's HEAD, ``mean(|g|)``, not the older ``|mean(g)|``). Concatenated in the order the
network creates its variables, this is the *profile* (one entry per filter). Optionally fully
connected layers (2-D variables, (in, out)) add one entry per output unit, the same way.

The profile is standardized per filter, ``z = (s - mu) / sigma``, with the mean and unbiased std
over a reference set (:func:`reference_stats`, one streaming float64 pass; sigma < 1e-14 -> 1),
cached beside the model by :func:`cached_reference_stats`. The top-k filters by signed z are the
ones the model "blames" for its loss on x. The input-space saliency is the gradient, w.r.t. the
input, of the cosine similarity between the live profile z and a detached copy whose top-k entries
are boosted (x100): the pixels that drive those filters. It is a second-order gradient, built once
in the model's graph (``tf.gradients`` of the cosine through the kernel gradients).

Per-image gradients: the loss must be one image's, so every profile is one ``session.run`` of one
image. A batched per-example alternative (image patches x output gradients, per Conv2D op) measured
only 1.5x faster on the MNIST CNN (2.3 vs 3.5 ms per image) and is not worth the graph surgery.

API::

    ps = ParameterSaliency(model, dense=False, signed=False)
    ps.layers, ps.n_filters, ps.describe(i)
    ps.profiles(images, labels) -> (N, F) float32         # naive (unstandardized) saliency
    stats = cached_reference_stats(ps, reference_from_arrays(x_val, y_val, "..."), model_folder)
    stats.standardize(profiles) -> z (N, F) float64
    rank_filters(z, "salient" | "least" | "random", rank="signed" | "abs", rng) -> filter ids
    ps.input_saliency(image, label, stats, k=10, boost_factor=100) -> InputSaliency
    heatmap(gradient) -> (H, W) in [0, 1];  overlay(image, heat, input_range)
    filter_saliency_figure(z, ps.layers);  input_saliency_figure(image, heat, input_range)
"""
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .compat import tf, tf1
from .errors import OutputError, SanityCheckError
from .files import atomic_path, save_json

STD_FLOOR = 1e-14            # a reference std below this is replaced by 1 (the original's rule)
DEFAULT_K = 10
DEFAULT_BOOST = 100.0
COSINE_EPS = 1e-8            # as torch.nn.CosineSimilarity
PERCENTILES = (90, 99)       # heat-map clipping range
# cv2.GaussianBlur(3x3, sigma=0) uses sigma = 0.3 * ((3 - 1) / 2 - 1) + 0.8 = 0.8; truncate 1.25 keeps a 3x3 kernel.
BLUR_SIGMA, BLUR_TRUNCATE = 0.8, 1.25
STATS_BASENAME = "parameter_saliency_stats"
STATS_FORMAT = 1


@dataclass(frozen=True)
class Layer:
    """One parameter tensor of the profile: ``shape[-1]`` filters (output units) from ``start``."""
    variable: str          # e.g. 'hidden1/weights'
    kind: str              # 'conv' (4-D kernel, HWIO) or 'dense' (2-D, (in, out))
    shape: tuple
    start: int

    @property
    def size(self):
        return self.shape[-1]

    @property
    def stop(self):
        return self.start + self.size


class ParameterSaliency:
    """The per-filter saliency profile of a :class:`~sanity_checks.model.GraphModel`, built once in its graph.

    Args:
        model: a GraphModel; any architecture (kernels are found by their rank, not by name).
        dense: also profile fully connected layers (2-D variables), one entry per output unit.
        signed: aggregate ``mean(g)`` instead of ``mean(|g|)`` (the original's ``--signed``); its
            reference statistics are then computed with the same aggregation.

    Variables the loss does not depend on (e.g. an auxiliary head) are left out; so is a 1x1
    convolution over a 1x1 map (a fully connected layer, see :func:`_kernel_kinds`) unless ``dense``.
    """

    def __init__(self, model, dense=False, signed=False):
        self.model, self.dense, self.signed = model, bool(dense), bool(signed)
        kinds = _kernel_kinds(model)
        candidates = [v for v in model.variables if kinds.get(v.op.name) == "conv"
                      or dense and kinds.get(v.op.name) == "dense"]
        with model.graph.as_default(), tf1.name_scope("parameter_saliency"):
            log_probs = tf.nn.log_softmax(model.logits)
            loss = -tf.reduce_sum(tf.gather(log_probs, model.classes, axis=1, batch_dims=1))
            pairs = [(v, g) for v, g in zip(candidates, tf.gradients(loss, candidates)) if g is not None]
            if not pairs:
                raise SanityCheckError(f"{model.architecture.name} has no convolution kernels the loss depends on"
                                       + ("" if dense else "; try dense=True"))
            self.layers, parts, start = [], [], 0
            for v, g in pairs:
                shape = tuple(v.shape.as_list())
                self.layers.append(Layer(v.op.name, kinds[v.op.name], shape, start))
                start += shape[-1]
                per_unit = tf.reshape(g if signed else tf.abs(g), [-1, shape[-1]])
                parts.append(tf.reduce_mean(per_unit, axis=0))
            self.n_filters = start
            self._profile = tf.concat(parts, axis=0)
            self._mean = tf1.placeholder(tf.float32, [self.n_filters], name="mean")
            self._std = tf1.placeholder(tf.float32, [self.n_filters], name="std")
            self._boosted = tf1.placeholder(tf.float32, [self.n_filters], name="boosted")
            z = (self._profile - self._mean) / self._std
            norms = tf.norm(z) * tf.norm(self._boosted)
            self._cosine = tf.reduce_sum(z * self._boosted) / tf.maximum(norms, COSINE_EPS)
            # Second order: d cosine / d input flows back through the kernel gradients.
            self._input_gradient = tf.gradients(self._cosine, model.inputs)[0]

    @property
    def aggregation(self):
        return "mean" if self.signed else "mean_abs"

    def settings(self):
        """What determines a profile: written beside cached statistics."""
        return {"architecture": self.model.architecture.name, "aggregation": self.aggregation, "dense": self.dense,
                "layers": [[layer.variable, layer.size] for layer in self.layers]}

    def describe(self, index):
        """'hidden2/weights filter 17' for profile entry ``index``."""
        for layer in self.layers:
            if layer.start <= index < layer.stop:
                return f"{layer.variable} {'filter' if layer.kind == 'conv' else 'unit'} {index - layer.start}"
        raise IndexError(f"filter {index} out of range 0..{self.n_filters - 1}")

    def _feed(self, image, label):
        x = self.model.check_images(image)
        if len(x) != 1:
            raise ValueError("one image at a time: a batch would sum its images' gradients")
        return {self.model.inputs: x, self.model.classes: self.model.check_classes(label, 1)}

    def profiles(self, images, labels, progress=False):
        """Naive (unstandardized) profiles (N, F) float32, one session run per image."""
        from tqdm.auto import tqdm

        images = self.model.check_images(images)
        labels = self.model.check_classes(labels, len(images))
        out = np.empty((len(images), self.n_filters), np.float32)
        for i in tqdm(range(len(images)), desc="parameter saliency", unit="image", disable=not progress,
                      leave=False, mininterval=1.0):
            out[i] = self.model.session.run(self._profile, self._feed(images[i], labels[i]))
        return out

    def input_saliency(self, image, label, stats=None, k=DEFAULT_K, boost_factor=DEFAULT_BOOST, top=None):
        """Input-space saliency of one image: d cos(z, boosted z) / d input.

        ``stats``: :class:`SaliencyStats` (None: the naive profile, mu = 0, sigma = 1). ``top``: the
        filters to boost (default: the ``k`` largest signed z, as the original).
        """
        feed = self._feed(image, label)
        mean, std = (np.zeros(self.n_filters), np.ones(self.n_filters)) if stats is None else (stats.mean, stats.std)
        feed.update({self._mean: mean, self._std: std})
        profile = self.model.session.run(self._profile, feed)
        z = (profile.astype(np.float64) - mean) / std
        top = rank_filters(z, "salient", rank="signed")[:k] if top is None else np.asarray(top, dtype=np.int64)
        boosted = z.copy()
        boosted[top] *= boost_factor
        feed[self._boosted] = boosted
        gradient, cosine = self.model.session.run([self._input_gradient, self._cosine], feed)
        return InputSaliency(gradient[0], profile, z, top, float(cosine))


def _kernel_kinds(model):
    """{variable name: 'conv' | 'dense'} for the trainable 4-D and 2-D variables.

    A 4-D kernel every convolution of which sees a 1x1 spatial input (tf-slim Inception's
    ``Logits/Conv2d_1c_1x1``) is a fully connected layer in disguise: it counts as 'dense', so the
    default profile covers the same layers as the original's (PyTorch's Linear layers are 2-D).
    """
    spatial = {}  # variable op name -> spatial input shapes of the convolutions reading it
    for op in model.graph.get_operations():
        if op.type in ("Conv2D", "DepthwiseConv2dNative"):
            source = op.inputs[1].op
            while source.type in ("Identity", "ReadVariableOp") and source.inputs:
                source = source.inputs[0].op
            spatial.setdefault(source.name, []).append(tuple(op.inputs[0].shape.as_list()[1:3]))
    kinds = {}
    for v in model.variables:
        if v.trainable and v.shape.rank == 2:
            kinds[v.op.name] = "dense"
        elif v.trainable and v.shape.rank == 4:
            uses = spatial.get(v.op.name, [])
            kinds[v.op.name] = "dense" if uses and all(shape == (1, 1) for shape in uses) else "conv"
    return kinds


@dataclass
class InputSaliency:
    gradient: np.ndarray     # (H, W, C) d cosine / d input
    profile: np.ndarray      # (F,) naive saliency
    z: np.ndarray            # (F,) standardized saliency
    top: np.ndarray          # the boosted filters
    cosine: float            # cos(z, boosted z) at the image


def rank_filters(z, order="salient", rank="signed", rng=None):
    """All filter ids in pruning/boosting order.

    ``order``: 'salient' (largest first), 'least' (smallest first) or 'random' (a permutation from
    ``rng``, a np.random.Generator). ``rank``: 'signed' ranks by z (the original's top-k) or 'abs'
    by |z| (the public pruning script). Ties keep filter order (stable sort).
    """
    z = np.asarray(z, dtype=np.float64)
    if order == "random":
        if rng is None:
            raise ValueError("order='random' needs rng (a np.random.Generator)")
        return rng.permutation(len(z))
    if rank not in ("signed", "abs"):
        raise ValueError(f"rank must be 'signed' or 'abs', got {rank!r}")
    key = np.abs(z) if rank == "abs" else z
    if order == "salient":
        return np.argsort(-key, kind="stable")
    if order == "least":
        return np.argsort(key, kind="stable")
    raise ValueError(f"order must be 'salient', 'least' or 'random', got {order!r}")


# ------------------------------------------------------------------------------------------ statistics

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
    from .images import read_image

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


# ------------------------------------------------------------------------------------------ visualization

def heatmap(gradient, percentiles=PERCENTILES, blur_sigma=BLUR_SIGMA):
    """The original's input-space heat map (H, W) in [0, 1] from a gradient (H, W, C).

    Signed max over channels, absolute value, clip to the [p90, p99] percentiles, rescale to
    [0, 1], 3x3 Gaussian blur (sigma 0.8, mirrored borders as cv2's default).
    """
    from scipy.ndimage import gaussian_filter

    g = np.abs(np.asarray(gradient, dtype=np.float64).max(axis=-1))
    low, high = np.percentile(g, percentiles)
    g = (np.clip(g, low, high) - low) / (high - low) if high > low else np.zeros_like(g)
    return np.clip(gaussian_filter(g, blur_sigma, mode="mirror", truncate=BLUR_TRUNCATE), 0.0, 1.0)


def to_display(image, input_range=(0.0, 1.0)):
    """A model input (H, W, C) as RGB in [0, 1]."""
    low, high = input_range
    image = np.clip((np.asarray(image, dtype=np.float64) - low) / (high - low), 0, 1)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def overlay(image, heat, input_range=(0.0, 1.0), cmap="jet"):
    """jet(heat) + image, divided by its max: salient pixels red, the rest blue (RGB, not inverted)."""
    import matplotlib

    colored = matplotlib.colormaps[cmap](heat)[..., :3]
    mixed = colored + to_display(image, input_range)
    return mixed / mixed.max()


def sort_filters_layer_wise(z, layers):
    """Saliency sorted in descending order within each layer, layers in network order."""
    z = np.asarray(z)
    return np.concatenate([np.sort(z[layer.start:layer.stop])[::-1] for layer in layers])


def filter_saliency_figure(z, layers, title=""):
    """The original's "Sorted filter saliency" plot (15 x 4), with the layer boundaries marked."""
    import matplotlib.pyplot as plt

    from .figures import detached

    fig, ax = plt.subplots(figsize=(15, 4))
    ax.plot(sort_filters_layer_wise(z, layers), lw=1)
    for layer in layers[1:]:
        ax.axvline(layer.start, color="gray", lw=0.5, ls=":")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set(xlabel="Filter ID", ylabel="Saliency", title=title or "Sorted filter saliency", xlim=(0, len(z)))
    fig.tight_layout()
    return detached(fig)


def input_saliency_figure(image, heat, input_range=(0.0, 1.0), title=""):
    """The image, the heat map (jet) and their overlay side by side."""
    import matplotlib.pyplot as plt

    from .figures import detached, image_axes

    fig, axes = plt.subplots(1, 3, figsize=(8, 3.1))
    axes[0].imshow(to_display(image, input_range), interpolation="nearest")
    axes[1].imshow(heat, cmap="jet", vmin=0, vmax=1, interpolation="nearest")
    axes[2].imshow(overlay(image, heat, input_range), interpolation="nearest")
    image_axes(axes, ("image", "input-space saliency", "overlay"))
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return detached(fig)
