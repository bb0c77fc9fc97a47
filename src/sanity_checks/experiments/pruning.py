"""The pruning check of parameter-space saliency (the paper's main validation, REFERENCE C6).

For each misclassified image, the filters its standardized profile (true label) ranks as most salient
are switched off one more at a time, k = 1..K, and we record whether the prediction moves to the true
label, against switching off the same number of random or least-salient filters. "Switching off"
zeroes the filter's kernel slice ``W[..., f]`` in memory (the public frying script's
``--zero_out_filter``; biases stay), through ``GraphModel.set_weights``; the weights are restored after
each image and mode, and no checkpoint is ever written.

Ranking: by |z| descending for 'salient' and ascending for 'least', as the public frying script
(``rank='abs'``, the default); ``rank='signed'`` ranks by z itself, as the original's top-k for
the input-space map. 'random' is ``random_draws`` permutations per image (default 5), draw d from
``np.random.default_rng([seed, image id, d])``; the summary averages over images and draws, so the
baseline does not hang on one lucky order.

API::

    ids = misclassified(model, x, y, max_images)
    result = pruning_check(model, saliency, stats, x[ids], y[ids], ids=ids, k_max=10, rank="abs", seed=0,
                           random_draws=5)
    result.rows, summarize(result.rows), flip_rate_figure(summary), write_csv(result.rows, path)
"""
import csv
from dataclasses import dataclass, field

import numpy as np

from ..files import atomic_path
from ..parameter_saliency import rank_filters

MODES = ("salient", "random", "least")
COLUMNS = ("image", "true", "predicted", "mode", "draw", "k", "filter", "z", "prediction", "flipped",
           "p_true", "p_predicted", "delta_p_true", "delta_p_predicted")


class FilterPruner:
    """Zero filters (last-axis slices of the profiled variables) in memory; ``restore`` gives the bytes back.

    Use as a context manager: weights are restored on exit, also on error.
    """

    def __init__(self, model, layers):
        self.model, self.layers = model, list(layers)
        names = [layer.variable for layer in self.layers]
        weights = model.get_weights()
        self.snapshot = {n: weights[n] for n in names}
        self._pruned = {}   # variable name -> modified copy

    def locate(self, index):
        for layer in self.layers:
            if layer.start <= index < layer.stop:
                return layer.variable, index - layer.start
        raise IndexError(f"filter {index} is out of range")

    def zero(self, filters):
        """Zero these filters (profile indices) too; only the variables they belong to are assigned."""
        touched = set()
        for index in np.atleast_1d(filters):
            name, f = self.locate(int(index))
            value = self._pruned.setdefault(name, self.snapshot[name].copy())
            value[..., f] = 0
            touched.add(name)
        self.model.set_weights({name: self._pruned[name] for name in touched})

    def restore(self):
        if self._pruned:
            self.model.set_weights({name: self.snapshot[name] for name in self._pruned})
            self._pruned = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()


def softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def misclassified(model, images, labels, max_images=None):
    """Indices of the images ``model`` gets wrong, in order, at most ``max_images``."""
    wrong = np.flatnonzero(model.predict(images) != np.asarray(labels))
    return wrong[:max_images] if max_images is not None else wrong


@dataclass
class PruningResult:
    rows: list                                   # one per image, mode and k (see COLUMNS)
    settings: dict = field(default_factory=dict)


def pruning_check(model, saliency, stats, images, labels, ids=None, k_max=10, modes=MODES, rank="abs", seed=0,
                  random_draws=5, progress=False):
    """Prune k = 1..k_max filters per image and mode; returns a :class:`PruningResult`.

    Args:
        model: the GraphModel ``saliency`` was built on (weights restored on return).
        saliency / stats: a ParameterSaliency and its reference SaliencyStats.
        images, labels: the images to test (normally misclassified ones) and their TRUE labels.
        ids: an id per image for the rows (default 0..N-1); also seeds the random orders.
        random_draws: random orders per image for mode 'random' (rows carry ``draw`` = 0..draws-1;
            the other modes have one order, draw 0).
    """
    if int(random_draws) < 1:
        raise ValueError(f"random_draws must be at least 1, got {random_draws}")
    from tqdm.auto import tqdm

    images = model.check_images(images)
    labels = model.check_classes(labels, len(images))
    ids = np.arange(len(images)) if ids is None else np.asarray(ids)
    k_max = min(int(k_max), saliency.n_filters)
    rows = []
    with FilterPruner(model, saliency.layers) as pruner:
        for image, label, image_id in tqdm(list(zip(images, labels, ids)), desc="pruning", unit="image",
                                           disable=not progress, mininterval=1.0):
            z = stats.standardize(saliency.profiles(image[None], [label]))[0]
            p0 = softmax(model.predict_logits(image[None]))[0]
            predicted = int(p0.argmax())
            for mode in modes:
                for draw in range(int(random_draws) if mode == "random" else 1):
                    rng = np.random.default_rng([seed, int(image_id), draw])
                    order = rank_filters(z, mode, rank=rank, rng=rng)
                    for k in range(1, k_max + 1):
                        pruner.zero(order[k - 1])
                        p = softmax(model.predict_logits(image[None]))[0]
                        rows.append({
                            "image": int(image_id), "true": int(label), "predicted": predicted, "mode": mode,
                            "draw": draw, "k": k, "filter": int(order[k - 1]), "z": float(z[order[k - 1]]),
                            "prediction": int(p.argmax()), "flipped": int(p.argmax() == label),
                            "p_true": float(p[label]), "p_predicted": float(p[predicted]),
                            "delta_p_true": float(p[label] - p0[label]),
                            "delta_p_predicted": float(p[predicted] - p0[predicted])})
                    pruner.restore()
    settings = {"k_max": k_max, "modes": list(modes), "rank": rank, "seed": seed, "random_draws": int(random_draws),
                "n_images": len(images),
                "aggregation": saliency.aggregation, "dense": saliency.dense, "n_filters": saliency.n_filters}
    return PruningResult(rows, settings)


def summarize(rows):
    """{mode: {k: {flip_rate, flip_rate_se, changed_rate, mean_delta_p_true, mean_delta_p_predicted, n}}}.

    ``flip_rate``: fraction of images now predicted as their true label (for 'random', of images x
    draws); ``flip_rate_se``: its standard error over images (a per-image mean over draws first, so
    draws of one image are not counted as independent); ``changed_rate``: fraction whose prediction
    differs from the original (wrong) one; ``n``: images.
    """
    out = {}
    for mode in dict.fromkeys(r["mode"] for r in rows):
        out[mode] = {}
        for k in sorted({r["k"] for r in rows if r["mode"] == mode}):
            group = [r for r in rows if r["mode"] == mode and r["k"] == k]
            per_image = {}
            for r in group:
                per_image.setdefault(r["image"], []).append(r["flipped"])
            image_rates = np.array([np.mean(v) for v in per_image.values()])
            flip_rate = float(np.mean([r["flipped"] for r in group]))
            se = image_rates.std(ddof=1) / np.sqrt(len(image_rates)) if len(image_rates) > 1 else 0.0
            out[mode][k] = {
                "flip_rate": flip_rate, "flip_rate_se": float(se),
                "changed_rate": float(np.mean([r["prediction"] != r["predicted"] for r in group])),
                "mean_delta_p_true": float(np.mean([r["delta_p_true"] for r in group])),
                "mean_delta_p_predicted": float(np.mean([r["delta_p_predicted"] for r in group])),
                "n": len(image_rates)}
    return out


def write_csv(rows, path):
    """The rows as CSV (COLUMNS), written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    return path


LABELS = {"salient": "most salient", "random": "random", "least": "least salient"}


def flip_rate_figure(summary, title=""):
    """Flip rate (prediction -> true label) and mean change of p(true label) versus k, one line per mode."""
    import matplotlib.pyplot as plt

    from ..figures import detached

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for mode, by_k in summary.items():
        ks = sorted(by_k)
        ax1.plot(ks, [by_k[k]["flip_rate"] for k in ks], marker="o", ms=3, label=LABELS.get(mode, mode))
        ax2.plot(ks, [by_k[k]["mean_delta_p_true"] for k in ks], marker="o", ms=3, label=LABELS.get(mode, mode))
    ax1.set(xlabel="filters zeroed (k)", ylabel="fraction now correct", ylim=(0, None))
    ax2.set(xlabel="filters zeroed (k)", ylabel="mean change of p(true label)")
    ax2.axhline(0, color="gray", lw=0.5)
    ax1.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return detached(fig)
