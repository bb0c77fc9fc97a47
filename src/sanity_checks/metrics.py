"""Mask normalizations and similarity metrics of "Sanity Checks for Saliency Maps".

Shapes: a *mask* is ``(H, W)`` or ``(H, W, C)``; ``(H, W, 1)`` is treated as ``(H, W)``.
Batches are not accepted: loop over them. Every function refuses NaN/inf input with a
:class:`MaskError` (a ``ValueError``); the original code would silently propagate NaN (e.g. the
GradCAM of an all-zero ReLU map).

What the original (adebayoj/sanity_checks_saliency, notebooks + PAIR ``saliency`` 0.0.4 +
scikit-image 0.15) did, and where this module differs:

* ``abs_norm`` / ``diverging_norm`` reproduce ``abs_grayscale_norm`` / ``diverging_norm``
  exactly, including PAIR's 99th-percentile clipping of 3-channel masks. Differences: a
  degenerate mask gives finite values instead of NaN (see the functions), and
  ``diverging_norm`` also offers a ``mode="maxabs"`` option that keeps 0 at 0.
* ``spearman_abs`` / ``spearman_signed`` are ``scipy.stats.spearmanr`` on the flattened
  normalized masks, as in the original (computed here as scipy does, to the bit: average ranks, then
  ``np.corrcoef``, without importing ``scipy.stats``, 1.4 s of a run's start-up). Difference: two identical masks give 1.0 even if
  constant (the all-zero GradCAM of an image compared with itself); if only one is constant,
  Spearman is undefined (the original got ``nan``). We return ``0.0`` and emit a
  :class:`DegenerateMaskWarning`.
* ``ssim`` uses the effective settings of ``skimage.measure.compare_ssim(..., gaussian_weights=True,
  multichannel=True)`` in skimage 0.15 on min-max [0, 1] float32 masks: sigma 1.5, 11-pixel
  window, K1 0.01, K2 0.03, sample covariance, and ``data_range`` 2 (0.15 inferred it from the
  float dtype as (-1, 1)). The per-channel SSIMs are averaged. ``win_size`` really sets the
  Gaussian window (see :func:`ssim`).
* ``hog_similarity``: ``skimage.feature.hog(mask01, pixels_per_cell=(16, 16))`` with 9
  orientations, 3x3 cells per block, L2-Hys, and the locally dominant colour channel for
  3-channel masks. The two vectors are then compared with Spearman (the original code) or
  Pearson (the paper's text).

Calibration caveat (paper App. B): with these settings, two independent random masks do **not**
all give ~0. SSIM has a positive floor of about ``C2 / (2 var + C2)``, with
``C2 = (0.03 * data_range)**2``: about 0.14 for Gaussian masks and 0.02 for Uniform masks.
HOG of two 3-channel Uniform masks correlates at about 0.36, because the gradients of uniform
noise are anisotropic, so both HOG vectors share the same orientation-bin profile. The paper
reports about 0.078. See tests/test_metrics.py for the measured values.
"""
import warnings

import numpy as np

from .errors import SanityCheckError

__all__ = [
    "MaskError", "DegenerateMaskWarning",
    "abs_norm", "diverging_norm", "minmax_norm",
    "average_ranks", "spearman", "spearman_abs", "spearman_signed", "ssim", "hog_features", "hog_similarity",
    "METRICS", "check_names", "similarity",
]

# skimage fixes the Gaussian truncation at 3.5 sigma when gaussian_weights=True (0.15 and 0.26).
_SKIMAGE_SSIM_TRUNCATE = 3.5
_WANG_SIGMA, _WANG_WIN = 1.5, 11


class MaskError(SanityCheckError, ValueError):
    """A mask with a bad shape, mismatched shapes, or non-finite values."""


class DegenerateMaskWarning(UserWarning):
    """A similarity was undefined (constant mask) and a documented fallback value was returned."""


# ----------------------------------------------------------------------------------------------
# validation helpers

def _as_mask(mask, name="mask", dtype=np.float64):
    """Return ``mask`` as a finite float array of shape (H, W) or (H, W, C), squeezing (H, W, 1)."""
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.ndim not in (2, 3):
        raise MaskError(f"{name} must have shape (H, W) or (H, W, C), got {np.shape(mask)}")
    if m.size == 0:
        raise MaskError(f"{name} is empty (shape {np.shape(mask)})")
    if not np.issubdtype(m.dtype, np.number) or np.iscomplexobj(m):
        raise MaskError(f"{name} must be real-valued, got dtype {m.dtype}")
    m = m.astype(dtype, copy=False)
    if not np.all(np.isfinite(m)):
        raise MaskError(f"{name} contains NaN or inf (shape {np.shape(mask)}); "
                        "fix the saliency method output before comparing masks")
    return m


def _check_pair(a, b):
    """Both masks as arrays of the same shape, or a MaskError naming both shapes."""
    sa, sb = np.shape(a), np.shape(b)
    if sa != sb:
        raise MaskError(f"masks must have the same shape, got {sa} and {sb}")
    return np.asarray(a), np.asarray(b)


def _correlation(x, y, kind="spearman"):
    """Spearman/Pearson of two 1-D vectors; 0.0 plus a warning if one is constant.

    Two identical vectors give 1.0 even when constant: two degenerate masks (e.g. the all-zero
    GradCAM of one image under the trained model, compared with itself) did not change.
    """
    if np.array_equal(x, y):
        return 1.0
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        warnings.warn(f"{kind} correlation is undefined for a constant (e.g. all-zero) mask; "
                      "returning 0.0 (the original code would give nan)",
                      DegenerateMaskWarning, stacklevel=3)
        return 0.0
    if kind == "spearman":
        return spearman(x, y)
    if kind == "pearson":
        from scipy import stats  # 1.4 s to import; only HOG's Pearson variant needs it
        return float(stats.pearsonr(x, y).statistic)
    raise ValueError(f"unknown correlation {kind!r}; valid: 'spearman', 'pearson'")


def average_ranks(x):
    """Ranks 1..n of a 1-D array, ties given the mean of their ranks (``scipy.stats.rankdata``'s default).

    Each rank is a whole or half number, exact in float64, so any correct ranking gives the same bytes.
    """
    x = np.asarray(x).ravel()
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[True, xs[1:] != xs[:-1]]           # where each group of equal values begins
    group = np.cumsum(starts)                           # 1-based group of each sorted value
    bounds = np.r_[np.nonzero(starts)[0], len(xs)]      # group g spans sorted positions bounds[g-1]..bounds[g]-1
    ranks = np.empty(len(xs))
    ranks[order] = 0.5 * (bounds[group] + bounds[group - 1] + 1)
    return ranks


def spearman(x, y):
    """Spearman's rho of two 1-D vectors, as ``scipy.stats.spearmanr(x, y).statistic`` computes it.

    scipy ranks both columns and takes ``np.corrcoef`` of the stacked ranks; so does this, so the value is
    the same to the bit (tests/test_metrics.py compares them on ties, constant runs and random data).
    """
    ranked = np.column_stack((average_ranks(x), average_ranks(y)))
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])


# ----------------------------------------------------------------------------------------------
# normalizations

def abs_norm(mask):
    """Absolute-value normalization to [0, 1] (the original ``abs_grayscale_norm``).

    Args:
        mask: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, C)`` with C > 1 (typically 3).

    Returns:
        float64 array of shape ``(H, W)``, with the channels summed away:

        * ``(H, W)`` / ``(H, W, 1)``: ``|m| / max|m|``.
        * ``(H, W, C)``: PAIR ``VisualizeImageGrayscale(m, percentile=99)``. Let
          ``v = sum_c |m|``. Then the result is ``clip((v - min v) / (p99(v) - min v), 0, 1)``,
          so the top 1 % of pixels all become 1.

    Degenerate masks, where the original divides by zero: an all-zero or constant mask gives
    zeros. If ``p99(v) == min(v)`` (at least 99 % of pixels sit at the minimum) but the mask is
    not constant, the result is the limit of PAIR's formula: 1 where ``v > min v``, 0 elsewhere.
    """
    m = _as_mask(mask)
    if m.ndim == 2:
        a = np.abs(m)
        mx = a.max()
        return a / mx if mx > 0 else np.zeros_like(a)
    v = np.sum(np.abs(m), axis=2)
    vmax = np.percentile(v, 99)
    vmin = np.min(v)
    if vmax > vmin:
        return np.clip((v - vmin) / (vmax - vmin), 0, 1)
    return (v > vmin).astype(np.float64)


DIVERGING_MODES = ("original", "maxabs")


def diverging_norm(mask, mode="original"):
    """Signed normalization (the original ``diverging_norm``).

    Args:
        mask: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, C)`` with C > 1 (typically 3).
        mode: only used for C > 1. The channels are summed first: ``s = sum_c m``.

            * ``"original"`` (default; replicates the paper's code): PAIR
              ``VisualizeImageDiverging(m, 99)``, ``span = |p99(s)|`` and
              ``clip((s + span) / (2 span), -1, 1)``. **Quirk** of PAIR 0.0.4 (unchanged in 0.2.1):
              0 maps to 0.5, not 0. The result lies in about [0, 1], and values below ``-3 span``
              reach -1. The percentile is taken of the signed sum, and the top ~1 % are tied
              at 1. The quirk is a monotone map, so it does not change Spearman much; only the
              clipped tails become ties.
            * ``"maxabs"`` (principled): ``s / max|s|`` in [-1, 1], with 0 kept at 0 and no
              clipping. This is the 2-D rule applied to the channel sum, and its Spearman is
              exactly that of ``s``.

    Returns:
        float64 array ``(H, W)``. For 2-D masks (either mode) the result is ``m / max|m|`` in [-1, 1].

    Degenerate masks: if ``s`` (or the 2-D mask) is all zero, the result is zeros. In
    ``"original"`` mode with ``span == 0`` but a non-zero ``s``, the result is the limit of
    PAIR's formula: 1 where ``s > 0``, -1 where ``s < 0``, and 0.5 where ``s == 0``.
    """
    if mode not in DIVERGING_MODES:
        raise ValueError(f"unknown diverging_norm mode {mode!r}; valid: {', '.join(DIVERGING_MODES)}")
    m = _as_mask(mask)
    s = m if m.ndim == 2 else np.sum(m, axis=2)
    mx = np.abs(s).max()
    if mx == 0:
        return np.zeros_like(s)
    if m.ndim == 2 or mode == "maxabs":
        return s / mx
    span = abs(np.percentile(s, 99))
    if span > 0:
        return np.clip((s + span) / (2 * span), -1, 1)
    return np.where(s > 0, 1.0, np.where(s < 0, -1.0, 0.5))


def minmax_norm(mask):
    """Whole-mask min-max scaling to [0, 1], as float32 (the Inception notebooks' ``normalize_image``).

    Args:
        mask: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, C)``. One min and one max are taken over
            all channels together.

    Returns:
        float32 array, squeezed to ``(H, W)`` for ``(H, W, 1)`` input and otherwise the same
        shape as the input. The arithmetic is float32, as in the original. A constant
        (e.g. all-zero) mask gives zeros instead of the original's NaN.
    """
    x = _as_mask(mask, dtype=np.float32)
    lo, hi = x.min(), x.max()
    if hi > lo:
        return (x - lo) / (hi - lo)
    return np.zeros_like(x)


# ----------------------------------------------------------------------------------------------
# similarities

def spearman_abs(a, b):
    """Spearman rank correlation of ``abs_norm(a)`` and ``abs_norm(b)``, flattened.

    Args:
        a, b: masks of the same shape, ``(H, W)`` or ``(H, W, C)``.

    Returns:
        float in [-1, 1]. ``0.0`` with a :class:`DegenerateMaskWarning` if either normalized mask
        is constant (the original gave nan).
    """
    a, b = _check_pair(a, b)
    return _correlation(abs_norm(a).ravel(), abs_norm(b).ravel(), "spearman")


def spearman_signed(a, b, mode="original"):
    """Spearman rank correlation of ``diverging_norm(a, mode)`` and ``diverging_norm(b, mode)``.

    This is the paper's "without absolute values" variant.

    Args:
        a, b: masks of the same shape, ``(H, W)`` or ``(H, W, C)``.
        mode: see :func:`diverging_norm` (only used for 3-channel masks).

    Returns:
        float in [-1, 1]; ``0.0`` with a :class:`DegenerateMaskWarning` for a constant mask.
    """
    a, b = _check_pair(a, b)
    return _correlation(diverging_norm(a, mode).ravel(), diverging_norm(b, mode).ravel(), "spearman")


def _gaussian_window(sigma):
    """Width of the Gaussian window skimage's SSIM actually uses for ``sigma``."""
    return 2 * int(_SKIMAGE_SSIM_TRUNCATE * sigma + 0.5) + 1


def ssim(a, b, win_size=_WANG_WIN, *, gaussian_weights=True, sigma=None, data_range=2.0):
    """Structural similarity of the min-max [0, 1] masks.

    Computed with ``skimage.metrics.structural_similarity`` in float64 (as skimage 0.15 did),
    with K1 0.01, K2 0.03 and sample covariance. Channels are handled with
    ``channel_axis=-1``: SSIM is computed per channel and then averaged.

    Args:
        a, b: masks of the same shape, ``(H, W)`` or ``(H, W, C)``. Both sides must be at least
            ``win_size`` pixels.
        win_size: odd window width. The default 11 is the original code's. The paper's text says 5.
            skimage fixes the Gaussian truncation at 3.5 sigma and does not accept
            ``truncate``. With ``gaussian_weights=True`` and sigma 1.5 it always filters with
            an 11-tap Gaussian, and a ``win_size`` argument then only changes the border crop
            and the covariance factor. To make ``win_size`` the real window, ``sigma``
            defaults to ``1.5 * win_size / 11``, which keeps Wang et al.'s 11 / 1.5 shape (5 ->
            sigma 0.68, a 5-tap filter). This works for windows up to 43.
        gaussian_weights: False uses a uniform ``win_size`` x ``win_size`` window (skimage's own
            meaning of ``win_size``).
        sigma: explicit Gaussian sigma. It must give a ``win_size`` window in skimage
            (``2*int(3.5*sigma + 0.5) + 1``), otherwise a ValueError is raised.
        data_range: 2 by default, as the original's float inputs were inferred as (-1, 1) by
            skimage 0.15. With [0, 1] inputs the faithful value 2 inflates C1 and C2.
            Independent random masks then score about 0.14 (Gaussian) instead of 0. Pass
            ``data_range=1`` for the textbook value.

    Returns:
        float, the mean SSIM. 1.0 for identical masks.
    """
    a, b = _check_pair(a, b)
    x = minmax_norm(a).astype(np.float64)
    y = minmax_norm(b).astype(np.float64)
    if int(win_size) != win_size or win_size < 3 or win_size % 2 == 0:
        raise ValueError(f"win_size must be an odd integer >= 3, got {win_size}")
    win_size = int(win_size)
    if min(x.shape[:2]) < win_size:
        raise MaskError(f"SSIM with win_size={win_size} needs masks at least {win_size}x{win_size}, "
                        f"got {np.shape(a)}")
    if gaussian_weights:
        if sigma is None:
            sigma = _WANG_SIGMA * win_size / _WANG_WIN
        if _gaussian_window(sigma) != win_size:
            raise ValueError(f"sigma={sigma} gives a {_gaussian_window(sigma)}-pixel Gaussian window in "
                             f"skimage (truncate fixed at {_SKIMAGE_SSIM_TRUNCATE}), not win_size={win_size}")
    else:
        sigma = _WANG_SIGMA  # unused by skimage for a uniform window
    from skimage.metrics import structural_similarity   # here: scikit-image brings scipy.ndimage (0.35 s)
    return float(structural_similarity(
        x, y, win_size=win_size, gaussian_weights=gaussian_weights, sigma=sigma,
        data_range=data_range, use_sample_covariance=True, K1=0.01, K2=0.03,
        channel_axis=-1 if x.ndim == 3 else None))


def hog_features(mask, pixels_per_cell=(16, 16), cells_per_block=(3, 3), orientations=9):
    """HOG feature vector of ``minmax_norm(mask)``, using the original's ``skimage.feature.hog`` settings.

    The other settings are block_norm 'L2-Hys' and no sqrt transform. For ``(H, W, C)`` masks
    ``channel_axis=-1`` is used: at each pixel, skimage keeps the gradient of the channel with
    the largest magnitude.

    Args:
        mask: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, C)``. With the defaults it must be at least
            48x48 (3 cells of 16 px). The original used HOG only on 299x299x3 Inception masks.
            For MNIST (28x28), pass smaller cells explicitly, e.g. ``pixels_per_cell=(4, 4)``.

    Returns:
        1-D float32 vector. Its length is ``nbr * nbc * 3 * 3 * 9`` with ``nbr = H//16 - 2``,
        so a 299x299(x3) mask gives 16*16*81 = 20,736 features.
    """
    x = minmax_norm(mask)
    min_rows = pixels_per_cell[0] * cells_per_block[0]
    min_cols = pixels_per_cell[1] * cells_per_block[1]
    if x.shape[0] < min_rows or x.shape[1] < min_cols:
        raise MaskError(
            f"HOG with pixels_per_cell={tuple(pixels_per_cell)} and cells_per_block={tuple(cells_per_block)} "
            f"needs masks at least {min_rows}x{min_cols}, got {np.shape(mask)}; the original used HOG only "
            "on 299x299 Inception masks (for small masks pass smaller pixels_per_cell, e.g. (4, 4))")
    from skimage.feature import hog
    return hog(x, orientations=orientations, pixels_per_cell=tuple(pixels_per_cell),
               cells_per_block=tuple(cells_per_block), block_norm="L2-Hys",
               transform_sqrt=False, feature_vector=True,
               channel_axis=-1 if x.ndim == 3 else None)


def hog_similarity(a, b, correlation="spearman", **hog_kwargs):
    """Correlation of the HOG vectors of two masks (see :func:`hog_features`).

    Args:
        a, b: masks of the same shape, ``(H, W)`` or ``(H, W, C)``, at least 48x48 with the
            default cells.
        correlation: ``"spearman"`` (the original code) or ``"pearson"`` (the paper's text).
        **hog_kwargs: ``pixels_per_cell``, ``cells_per_block``, ``orientations``.

    Returns:
        float in [-1, 1]; ``0.0`` with a :class:`DegenerateMaskWarning` if a HOG vector is constant
        (e.g. an all-zero mask).
    """
    if correlation not in ("spearman", "pearson"):
        raise ValueError(f"unknown correlation {correlation!r}; valid: 'spearman', 'pearson'")
    a, b = _check_pair(a, b)
    return _correlation(hog_features(a, **hog_kwargs), hog_features(b, **hog_kwargs), correlation)


METRICS = {
    "spearman_abs": spearman_abs,
    "spearman_signed": spearman_signed,
    "ssim": ssim,
    "hog": hog_similarity,
}


def check_names(names):
    """Raise a :class:`MaskError` (a ValueError) listing the valid names if any of ``names`` is unknown."""
    for name in names:
        if not isinstance(name, str) or name not in METRICS:
            raise MaskError(f"unknown similarity {name!r}; valid: {', '.join(METRICS)}")


def similarity(name, a, b, **kw):
    """Call ``METRICS[name](a, b, **kw)``. An unknown name raises a ValueError that lists the valid names."""
    check_names([name])
    return METRICS[name](a, b, **kw)
