"""Smooth MPRT (Hedström et al. 2023): the randomization test on noise-averaged explanations.

Each image's explanation is the mean of the method's maps at N noisy copies x + eps,
eps ~ N(0, sigma^2) with sigma = noise_level * (max(x) - min(x)) (defaults N = 50, noise_level
0.1), under the trained model and under the fully randomized model (every block), with the same
noise; the score is their similarity (Spearman of absolute maps by default). With N = 1 and
noise_level = 0 the copies are the image itself and the score is the plain test's at its last
cascade step, exactly.

The noise of image i is drawn from (seed, image id, "smprt_noise") alone. The edge and input-noise
controls see the same noisy copies (averaged like a method); the random control is drawn once per state.
"""
import numpy as np

from .. import metrics as metrics_module
from ..by_image import predicted_classes
from ..methods import failures
from ..random_streams import draw_rng
from ..randomize import Randomizer, Strategy
from .common import (CheckError, CheckResult, check_ids, constant_rows, maps_with_controls, merged_settings,
                     method_names, row)
from .controls import EDGE, INPUT_NOISE, RANDOM, random_maps
from .spec import RANDOMIZATION, CheckSpec, Column, Option

NAME = "smprt"
DEFAULTS = {"nsamples": 50, "noise_level": 0.1, "metrics": ("spearman_abs", "spearman_signed"),
            "randomization": "reinit", "methods": None, "method_settings": None}


def noisy_copies(images, image_ids, seed, nsamples, noise_level):
    """(N * nsamples, H, W, C) float32: image i's copies are rows i*nsamples ... (i+1)*nsamples - 1."""
    copies = []
    for x, image_id in zip(images, image_ids):
        sigma = noise_level * float(x.max() - x.min())
        eps = draw_rng(seed, image_id, "smprt_noise").standard_normal((nsamples,) + x.shape) * sigma
        copies.append((x[None].astype(np.float64) + eps).astype(np.float32))
    return np.concatenate(copies)


def averaged_maps(model, images, ids, methods, classes, seed, s, state):
    """{name: (N, H, W, C)} each method's map averaged over the noisy copies; the random control per state."""
    n = int(s["nsamples"])
    copies = noisy_copies(images, ids, seed, n, float(s["noise_level"]))
    # each copy's own id for the input-noise control: depends on (image id, copy) only
    copy_ids = (np.repeat(ids, n) * n + np.tile(np.arange(n), len(ids)))
    with failures.rows_of_images(lambda copy_id: copy_id // n):   # a failing method names the image, not the copy
        masks = maps_with_controls(model, copies, copy_ids, methods, np.repeat(classes, n), seed,
                                   s["method_settings"], state=state, rows_per_image=n, keys=ids)
    out = {k: v.reshape((len(images), n) + v.shape[1:]).mean(axis=1, dtype=np.float64).astype(np.float32)
           for k, v in masks.items()}
    out[RANDOM] = random_maps(images.shape[1:], ids, seed, f"{NAME}/{state}")
    return out


def run(model, images, image_ids, seed=0, settings=None):
    """Rows: one per (image, method or control, metric): similarity original vs fully randomized."""
    s = merged_settings(DEFAULTS, settings)
    if int(s["nsamples"]) < 1 or float(s["noise_level"]) < 0:
        raise CheckError(f"sMPRT needs nsamples >= 1 and noise_level >= 0, got {s['nsamples']}, {s['noise_level']}")
    images = model.check_images(images)
    ids = check_ids(images, image_ids)
    methods = method_names(model, s["methods"])
    metrics_module.check_names(list(s["metrics"]))
    classes = predicted_classes(model, images, ids)   # the trained model's class, explained in both states
    original = averaged_maps(model, images, ids, methods, classes, seed, s, "original")
    with Randomizer(model, Strategy(s["randomization"]), seed=seed) as randomizer:
        randomizer.randomize(model.architecture.block_names)
        randomized = averaged_maps(model, images, ids, methods, classes, seed, s, "randomized")
    rows = []
    for name in original:
        for n, image_id in enumerate(ids):
            rows += [row(NAME, image_id, name, metric,
                         metrics_module.similarity(metric, original[name][n], randomized[name][n]), state="randomized")
                     for metric in s["metrics"]]
            rows += constant_rows(NAME, image_id, name, original[name][n], randomized[name][n], state="randomized")
    return CheckResult(rows, {**s, "metrics": list(s["metrics"]), "methods": methods, "seed": seed,
                              "randomization_described": Strategy(s["randomization"]).describe()})


SPEC = CheckSpec(
    NAME, run, row_group=("method",), defaults=DEFAULTS,
    columns=(Column("sMPRT", NAME, "spearman_abs", "lower", (EDGE, INPUT_NOISE),
                    explanation="Spearman (absolute maps) of noise-averaged maps, trained vs fully randomized model"),),
    min_effect=0.05,   # Spearman of absolute maps, 0 ... 1 here
    options=(RANDOMIZATION,
             Option("--smprt-samples", "nsamples", "sMPRT: noisy copies per image (default {default})", type=int),
             Option("--smprt-noise", "noise_level",
                    "sMPRT: noise std as a fraction of each image's range (default {default})", type=float)))
