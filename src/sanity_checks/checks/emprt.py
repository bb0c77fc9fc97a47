"""Efficient MPRT (Hedström et al. 2023): how much more complex an explanation gets when the model
is fully randomized, measured by the entropy of its attribution values.

score = (H(e_rand) - H(e_orig)) / H(e_orig), H the discrete (Shannon, natural log) entropy of the
histogram of a map's values (absolute values by default), the number of bins chosen by a named
rule (:data:`BIN_RULES`). A map that turns into noise when the model does scores high; one that
ignores the model scores 0. The model's own output entropy (softmax over classes), original
against fully randomized, is reported the same way (method ``model_output``): it shows that
the randomization really destroyed the function. A single output behind a final sigmoid has the
entropy of its two outcomes (row detail ``sigmoid``); a single output without one (a regression score)
has no output distribution and no ``model_output`` rows.

Default bin rule: ``sqrt`` (sqrt(n) bins). Freedman-Diaconis is available but degenerates to one
bin (entropy 0, score undefined) on maps that are zero on most pixels, as Gradient⊙Input on MNIST.
"""
import numpy as np

from ..by_image import logits
from ..contract import FINAL_ACTIVATION
from ..randomize import Randomizer, Strategy
from .common import (CheckError, CheckResult, check_ids, constant_rows, maps_with_controls, merged_settings,
                     method_names, row)
from .controls import EDGE
from .spec import RANDOMIZATION, CheckSpec, Column, Option

NAME = "emprt"
MODEL_OUTPUT = "model_output"
#: named bin rules -> numpy.histogram_bin_edges names.
BIN_RULES = {"freedman-diaconis": "fd", "scott": "scott", "sturges": "sturges", "rice": "rice", "sqrt": "sqrt"}
DEFAULTS = {"bins": "sqrt", "absolute": True, "randomization": "reinit", "methods": None, "method_settings": None}


def discrete_entropy(counts):
    """Shannon entropy (nats) of a histogram's counts; empty bins contribute nothing."""
    counts = np.asarray(counts, dtype=np.float64).ravel()
    total = counts.sum()
    if total <= 0:
        raise CheckError("entropy of an empty histogram")
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def histogram_entropy(values, bins="sqrt"):
    """Entropy of the histogram of ``values`` with the named bin rule (see :data:`BIN_RULES`)."""
    if bins not in BIN_RULES:
        raise CheckError(f"unknown bin rule {bins!r}; valid: {', '.join(BIN_RULES)}")
    values = np.asarray(values, dtype=np.float64).ravel()
    edges = np.histogram_bin_edges(values, bins=BIN_RULES[bins])
    return discrete_entropy(np.histogram(values, bins=edges)[0])


def relative_increase(before, after):
    """(after - before) / before; nan when ``before`` is 0 (undefined)."""
    return (after - before) / before if before > 0 else float("nan")


def softmax_entropy(logits):
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)).sum(axis=1)


def sigmoid_entropy(logits):
    """Entropy (nats) of the two outcomes of a single logit's sigmoid, p = sigmoid(z), per row."""
    z = np.asarray(logits, dtype=np.float64)[:, 0]
    p = 0.5 * (1 + np.tanh(z / 2))
    # log p = -log(1 + e^-z), log(1 - p) = -log(1 + e^z): finite however large |z| is
    return p * np.logaddexp(0, -z) + (1 - p) * np.logaddexp(0, z)


def output_entropy(logits, final_activation):
    """(entropy per image of the model's output distribution, its row detail), or (None, reason): the
    softmax over classes; for a single output, the sigmoid's two outcomes when the engine looked through a
    final sigmoid, and none otherwise (a regression score has no distribution)."""
    if np.shape(logits)[1] > 1:
        return softmax_entropy(logits), ""
    if final_activation == "Sigmoid":
        return sigmoid_entropy(logits), "sigmoid"
    return None, "a single output without a final sigmoid has no output distribution"


def run(model, images, image_ids, seed=0, settings=None):
    """Rows per (image, method or control): metric ``entropy_increase``, and ``entropy_original`` /
    ``entropy_randomized``; method ``model_output`` for the softmax."""
    s = merged_settings(DEFAULTS, settings)
    if s["bins"] not in BIN_RULES:
        raise CheckError(f"unknown bin rule {s['bins']!r}; valid: {', '.join(BIN_RULES)}")
    images = model.check_images(images)
    ids = check_ids(images, image_ids)
    methods = method_names(model, s["methods"])
    logits_original = logits(model, images, ids)
    classes = np.argmax(logits_original, axis=1)
    original = maps_with_controls(model, images, ids, methods, classes, seed, s["method_settings"], "original")
    with Randomizer(model, Strategy(s["randomization"]), seed=seed) as randomizer:
        randomizer.randomize(model.architecture.block_names)
        randomized = maps_with_controls(model, images, ids, methods, classes, seed, s["method_settings"], "randomized")
        logits_randomized = logits(model, images, ids)
    rows = []

    def add(name, n, image_id, h0, h1, detail=""):
        rows.extend([row(NAME, image_id, name, "entropy_original", h0, detail=detail),
                     row(NAME, image_id, name, "entropy_randomized", h1, detail=detail),
                     row(NAME, image_id, name, "entropy_increase", relative_increase(h0, h1), state="randomized",
                         detail=detail)])

    for name in original:
        for n, image_id in enumerate(ids):
            a, b = original[name][n], randomized[name][n]
            if s["absolute"]:
                a, b = np.abs(a), np.abs(b)
            add(name, n, image_id, histogram_entropy(a, s["bins"]), histogram_entropy(b, s["bins"]))
            rows.extend(constant_rows(NAME, image_id, name, a, b, state="randomized"))
    final_activation = (getattr(model, "metadata", None) or {}).get(FINAL_ACTIVATION)
    h0, detail = output_entropy(logits_original, final_activation)
    if h0 is not None:
        h1, _ = output_entropy(logits_randomized, final_activation)
        for n, image_id in enumerate(ids):
            add(MODEL_OUTPUT, n, image_id, h0[n], h1[n], detail)
    return CheckResult(rows, {**s, "methods": methods, "seed": seed,
                              "randomization_described": Strategy(s["randomization"]).describe()})


SPEC = CheckSpec(
    NAME, run, row_group=("method",), defaults=DEFAULTS,
    columns=(Column("eMPRT", NAME, "entropy_increase", "higher", (EDGE,),
                    explanation="relative increase of the entropy of the map's value histogram, trained to fully "
                                "randomized"),),
    # a rise of 5% of the trained map's entropy. The model-independent input × noise control already rises
    # by 0.013 [-0.001, 0.028] on the Fashion-MNIST CNN (doc/sanity_report.md), and a 28-bin histogram moves
    # by a few percent when a few pixels cross a bin edge: a rise must clearly exceed what a map that
    # ignores the model shows
    min_effect=0.05,
    options=(RANDOMIZATION,
             Option("--bins", "bins", "eMPRT: histogram bin rule (default {default})", choices=tuple(BIN_RULES))))
