"""GradCAM and Guided GradCAM, batched, matching PAIR 0.2.1's ``saliency.core.GradCam``.

For each image: alpha_k = spatial mean of d logit[class] / d A_k over the layer's (h, w);
map = ReLU(sum_k alpha_k A_k) (accumulated channel by channel in float32, as PAIR), divided by
its max when the max is > 0, then resized to the input's (H, W) as the original's PAIR 0.0.4 did,
with TF1's ``tf.image.resize_bilinear`` (the default, ``resize="tf1_bilinear"``; PAIR 0.2.1's
``skimage.transform.resize``, bilinear with half-pixel centres, is ``resize="skimage"``) and
copied into every input channel. One ``gradcam.resize`` setting governs Guided GradCAM too
(``methods.registry.FOLLOWS``).
"""
import warnings

import numpy as np

from .base import DegenerateMaskWarning, MethodError, finish, resolve_classes, tile_channels
from .gradients import guided_backprop


def gradcam_layer(model, layer=None):
    """The layer GradCAM reads: ``layer`` or the architecture's default; must be (N, h, w, K)."""
    layer = layer or model.architecture.gradcam_layer
    shapes = model.layer_shapes()
    if layer is None:
        raise MethodError(f"GradCAM needs a convolutional layer, and {model.architecture.name} has none "
                          f"(no gradcam_layer); valid layers: {', '.join(shapes)}")
    if layer not in shapes:
        raise MethodError(f"unknown layer {layer!r} for {model.architecture.name}; "
                          f"valid layers: {', '.join(shapes)}")
    if shapes[layer] is None or len(shapes[layer]) != 3:
        shown = "unknown" if shapes[layer] is None else "(None, " + ", ".join(map(str, shapes[layer])) + ")"
        raise MethodError(f"GradCAM needs a convolutional layer (N, h, w, K); {layer!r} has shape {shown}")
    return layer


def gradcam_maps(values, grads):
    """Low-resolution GradCAM maps: (N, h, w, K) activations and gradients -> (N, h, w) float32.

    ReLU'd and divided by each map's max; a map that is all zero stays zero (and warns).
    """
    weights = np.mean(grads, axis=(1, 2))                        # (N, K)
    maps = np.zeros(values.shape[:3], dtype=np.float32)
    for k in range(values.shape[-1]):                            # PAIR's float32 accumulation order
        maps += weights[:, k, None, None] * values[..., k]
    maps = np.maximum(maps, 0)
    peak = maps.reshape(len(maps), -1).max(axis=1) if maps.size else np.zeros(len(maps))
    dead = ~(peak > 0)
    if dead.any():
        warnings.warn(f"gradcam: ReLU(sum_k alpha_k A_k) is all zero for image(s) {np.flatnonzero(dead).tolist()}; "
                      f"their masks are zeros", DegenerateMaskWarning, stacklevel=3)
    maps[~dead] /= peak[~dead, None, None]
    maps[dead] = 0.0
    return maps


RESIZES = ("skimage", "tf1_bilinear")


def _tf1_bilinear_weights(n_in, n_out):
    """(n_out, n_in) interpolation matrix of TF1 ``resize_bilinear`` (align_corners=False, no half-pixel
    centers): output i reads input position i * n_in / n_out."""
    src = np.arange(n_out) * (n_in / n_out)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (src - lo).astype(np.float32)
    weights = np.zeros((n_out, n_in), np.float32)
    np.add.at(weights, (np.arange(n_out), lo), 1 - frac)
    np.add.at(weights, (np.arange(n_out), hi), frac)
    return weights


def resize_maps(maps, size, resize="tf1_bilinear"):
    """(N, h, w) -> (N, H, W) float32.

    ``resize="tf1_bilinear"`` (default): TF1's ``tf.image.resize_bilinear`` (align_corners=False) as
    PAIR 0.0.4, the original's version, did. ``"skimage"``: ``skimage.transform.resize(map, (H, W))``
    per map, as PAIR 0.2.1's core GradCam (bilinear with half-pixel centers).
    """
    if resize not in RESIZES:
        raise MethodError(f"unknown resize {resize!r}; valid: {', '.join(RESIZES)}")
    if not len(maps):
        return np.zeros((0,) + tuple(size), np.float32)
    if resize == "tf1_bilinear":
        rows, cols = (_tf1_bilinear_weights(n_in, n_out) for n_in, n_out in zip(maps.shape[1:], size))
        return np.einsum("ih,nhw,jw->nij", rows, maps, cols).astype(np.float32)
    from skimage.transform import resize as skimage_resize
    return np.stack([skimage_resize(m, size) for m in maps]).astype(np.float32)


def gradcam(model, images, classes=None, *, layer=None, resize="tf1_bilinear", batch_size=None):
    """GradCAM of ``layer`` (default ``architecture.gradcam_layer``). (N, H, W, C) float32 in [0, 1].

    ``resize``: how the map is upsampled to (H, W), see :func:`resize_maps` ("tf1_bilinear" = PAIR
    0.0.4 as the original ran it, the default; "skimage" = PAIR 0.2.1).

    Raises :class:`MethodError` for a model without a convolutional layer (e.g. the MLP).
    """
    layer = gradcam_layer(model, layer)
    x = model.check_images(images)
    classes = resolve_classes(model, x, classes, batch_size)
    values, grads = model.layer_values_and_gradients(x, classes, layer, batch_size=batch_size)
    maps = resize_maps(gradcam_maps(values, grads), x.shape[1:3], resize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateMaskWarning)   # gradcam_maps already said which
        return finish(tile_channels(maps, x.shape[-1]), "gradcam")


def guided_gradcam(model, images, classes=None, *, layer=None, resize="tf1_bilinear", batch_size=None,
                   guided_masks=None, gradcam_masks=None):
    """Guided backprop ⊙ GradCAM, elementwise (the original's "GBP-GC"). (N, H, W, C) float32.

    ``guided_masks`` / ``gradcam_masks``: those masks of the same images and classes, if already
    computed.
    """
    x = model.check_images(images)
    if guided_masks is None or gradcam_masks is None:
        classes = resolve_classes(model, x, classes, batch_size)
    if gradcam_masks is None:
        gradcam_masks = gradcam(model, x, classes, layer=layer, resize=resize, batch_size=batch_size)
    if guided_masks is None:
        guided_masks = guided_backprop(model, x, classes, batch_size=batch_size)
    return finish(guided_masks * gradcam_masks, "guided_gradcam")
