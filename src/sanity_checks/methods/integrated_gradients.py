"""Integrated Gradients (Sundararajan et al. 2017), all images x all steps in few batched runs.

IG = (x - b) * mean over alpha in ``np.linspace(0, 1, x_steps)`` (both ends included) of
d logit[class] / d input at ``b + alpha (x - b)``, exactly as PAIR's ``IntegratedGradients``
(path points formed in float64 like PAIR, then fed to the model as float32).
"""
import numpy as np

from .base import MethodError, finish, image_chunks, resolve_classes, sequential_sum


def _baseline_like(x, baseline):
    """None -> zeros; a number or an array broadcastable to ``x``'s shape."""
    if baseline is None:
        return np.zeros_like(x)
    try:
        return np.broadcast_to(np.asarray(baseline, dtype=x.dtype), x.shape)
    except ValueError:
        raise MethodError(f"baseline of shape {np.shape(baseline)} does not fit images of shape {x.shape}") from None


def path_integrated_gradients(model, x, classes, x_steps=50, baseline=None, batch_size=None):
    """IG of ``x`` (N, H, W, C), float32 or float64 (noisy copies keep float64, as PAIR's do).

    ``classes``: (N,) resolved class ids. Returns (N, H, W, C) in ``x``'s float precision,
    unchecked (callers finish it). Path points go to the model in chunks of whole images.
    """
    if int(x_steps) < 1:
        raise MethodError(f"x_steps must be >= 1, got {x_steps}")
    x_steps = int(x_steps)
    base = _baseline_like(x, baseline)
    diff = x - base
    alphas = np.linspace(0, 1, x_steps).reshape((1, x_steps) + (1,) * (x.ndim - 1))
    out = np.empty(x.shape, dtype=np.result_type(x.dtype, np.float32))
    for part in image_chunks(len(x), x_steps * x[0].size):
        n = len(x[part])
        points = base[part, None].astype(np.float64) + alphas * diff[part, None].astype(np.float64)
        grads = model.input_gradients(points.reshape((n * x_steps,) + x.shape[1:]),
                                      np.repeat(classes[part], x_steps), batch_size=batch_size)
        total = sequential_sum(grads.reshape((n, x_steps) + x.shape[1:]), axis=1)
        out[part] = total * diff[part] / x_steps
    return out


def integrated_gradients(model, images, classes=None, *, x_steps=50, baseline=None, batch_size=None):
    """Integrated Gradients. (N, H, W, C) -> (N, H, W, C) float32.

    ``x_steps``: path points (the original uses 50); ``baseline``: None (zeros, "all black" for
    MNIST), a number, or an array broadcastable to the images.
    """
    x = model.check_images(images)
    classes = resolve_classes(model, x, classes, batch_size)
    return finish(path_integrated_gradients(model, x, classes, x_steps, baseline, batch_size),
                  "integrated_gradients")
