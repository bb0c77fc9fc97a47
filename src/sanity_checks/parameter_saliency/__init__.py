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

Modules: ``profile`` (:class:`ParameterSaliency`, :func:`rank_filters`), ``statistics`` (reference sets,
:func:`cached_reference_stats`), ``figures`` (:func:`heatmap`, the figures), ``images`` (:class:`Source`: where a
model's images, labels and reference set come from).

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
from .figures import (BLUR_SIGMA, BLUR_TRUNCATE, PERCENTILES, filter_saliency_figure, heatmap, input_saliency_figure,
                      overlay, sort_filters_layer_wise, to_display)
from .profile import (COSINE_EPS, DEFAULT_BOOST, DEFAULT_K, InputSaliency, Layer, ParameterSaliency,
                      rank_filters)
from .statistics import (STATS_BASENAME, STATS_FORMAT, STD_FLOOR, ReferenceSet, RunningStats, SaliencyStats,
                         cached_reference_stats, reference_from_arrays, reference_from_folder, reference_stats,
                         stats_paths, weights_fingerprint)

__all__ = [
    "BLUR_SIGMA", "BLUR_TRUNCATE", "PERCENTILES", "filter_saliency_figure", "heatmap", "input_saliency_figure",
    "overlay", "sort_filters_layer_wise", "to_display",
    "COSINE_EPS", "DEFAULT_BOOST", "DEFAULT_K", "InputSaliency", "Layer", "ParameterSaliency", "rank_filters",
    "STATS_BASENAME", "STATS_FORMAT", "STD_FLOOR", "ReferenceSet", "RunningStats", "SaliencyStats",
    "cached_reference_stats", "reference_from_arrays", "reference_from_folder", "reference_stats", "stats_paths",
    "weights_fingerprint",
]
