"""The pictures of parameter saliency: the input-space heat map and its overlay, the sorted filter saliency plot."""
import numpy as np

PERCENTILES = (90, 99)       # heat-map clipping range
# cv2.GaussianBlur(3x3, sigma=0) uses sigma = 0.3 * ((3 - 1) / 2 - 1) + 0.8 = 0.8; truncate 1.25 keeps a 3x3 kernel.
BLUR_SIGMA, BLUR_TRUNCATE = 0.8, 1.25


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

    from ..figures import detached

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

    from ..figures import detached, image_axes

    fig, axes = plt.subplots(1, 3, figsize=(8, 3.1))
    axes[0].imshow(to_display(image, input_range), interpolation="nearest")
    axes[1].imshow(heat, cmap="jet", vmin=0, vmax=1, interpolation="nearest")
    axes[2].imshow(overlay(image, heat, input_range), interpolation="nearest")
    image_axes(axes, ("image", "input-space saliency", "overlay"))
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return detached(fig)
