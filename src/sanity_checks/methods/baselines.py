"""Model-free baselines shown beside the methods (paper Fig. 1)."""
import numpy as np

from .base import MethodError, finish


def edge(model, images, classes=None, *, batch_size=None):
    """Sobel edge detector of the images themselves (``sanity_checks.edge.edge_detector``).

    Ignores the model, the classes and ``batch_size`` (``model`` may be None). (N, H, W, C) -> (N, H, W, C) float32.
    """
    from ..edge import edge_detector   # imported when used: the module is optional here
    if model is not None:
        x = model.check_images(images)
    else:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4:
            raise MethodError(f"images must be (N, H, W, C), got shape {x.shape}")
    return finish(edge_detector(x), "edge")
