"""The paper's model-free baseline (Fig. 1): a Sobel edge detector used as if it were a saliency map.

The original repository has no code for it. Here it is ``skimage.filters.sobel`` (edge magnitude
``sqrt((Sobel_h**2 + Sobel_v**2) / 2)``, 'reflect' borders), applied to each channel
separately. The output therefore has the input's shape and channels, and can be normalized and
compared like any mask (e.g. ``metrics.abs_norm`` sums it over channels).
"""
import numpy as np

from .metrics import MaskError

__all__ = ["edge_detector"]


def edge_detector(images):
    """Sobel edge magnitude of an image or a batch, per channel.

    Args:
        images: ``(H, W)``, ``(H, W, C)`` (C <= 4), or a batch ``(N, H, W, C)``. A 3-D array
            is always read as one ``(H, W, C)`` image. Give a grayscale batch as ``(N, H, W, 1)``.

    Returns:
        float64 array with the input's shape. Each channel is filtered independently and is
        never mixed with the others. The values are >= 0 and are 0 on constant regions.
    """
    x = np.asarray(images)
    if x.ndim not in (2, 3, 4) or x.size == 0:
        raise MaskError(f"images must be (H, W), (H, W, C) or (N, H, W, C), got shape {x.shape}")
    if x.ndim == 3 and x.shape[2] > 4:
        raise MaskError(f"a 3-D input is read as (H, W, C), but C={x.shape[2]} > 4; "
                        f"for a batch of grayscale images pass shape (N, H, W, 1), got {x.shape}")
    x = x.astype(np.float64, copy=False)
    if not np.all(np.isfinite(x)):
        raise MaskError(f"images contain NaN or inf (shape {x.shape})")
    from skimage.filters import sobel   # here, not at import: scikit-image brings scipy.ndimage (0.35 s)
    if x.ndim == 2:
        return sobel(x)
    if x.ndim == 3:
        return np.stack([sobel(x[:, :, c]) for c in range(x.shape[2])], axis=-1)
    return np.stack([edge_detector(img) for img in x], axis=0)
