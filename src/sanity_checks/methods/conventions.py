"""The three ways a method can be written, taken as they are and called as ours:
``function(model, images, classes, *, batch_size=None, **settings)`` -> (N, H, W, C) masks.

- ``ours``: ``function(model, images, classes, **settings)`` on the model contract
  (:mod:`sanity_checks.contract`): (N, H, W, C) float32 images, (N,) int classes, (N, H, W, C) masks.
  It gets ``batch_size`` only if it takes it; a noisy method (``noisy=True``) also gets ``seed`` and ``image_ids``.
- ``pair``: a PAIR ``saliency.core.CoreSaliency`` subclass (made with no arguments) or instance. Its
  ``GetMask(x, call_model_function, call_model_args, **settings)`` takes one image, so it is called per
  image with the model's own ``call_model_function`` (``{"class_idx": class}``; with the model's
  GradCAM layer, or the ``layer`` setting, for a method that ``needs`` "conv_layer"); PAIR batches
  inside a call where the method takes ``batch_size`` (IG, XRAI: a setting). An (H, W) mask, or one map
  in three identical channels (PAIR's ``three_dims``), is copied into every channel of the image.
- ``quantus``: ``explain_func(model=, inputs=, targets=, **settings)`` as Quantus calls it: the model the
  user gave (``model.framework_model()``: a ``torch.nn.Module``, or an eager copy of a Keras model), holding
  the weights of the state being explained, the images in that framework's layout (numpy, N C H W for
  PyTorch, N H W C for Keras), the classes as an int array; it runs inside ``model.framework_scope()``
  (eager execution for Keras) and returns numpy (or a tensor) attributions (N, C, H, W) / (N, H, W, C),
  (N, 1, H, W) or (N, H, W), brought back to (N, H, W, C).

What comes back is checked where the masks are computed (:func:`sanity_checks.methods.compute_masks`).
"""
import inspect

import numpy as np

from .base import MethodError

CONVENTIONS = ("ours", "pair", "quantus")


def _takes(function, keyword):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in parameters)


def adapt(name, function, convention, needs=(), builtin=False, defaults=()):
    """``function`` of ``convention`` as our method signature. A method whose ``defaults`` hold a ``batch_size``
    of its own (PAIR's IG and XRAI) gets that one, not the engine's images per call."""
    own_batch = "batch_size" in defaults
    if convention == "pair":
        return _pair(name, function, needs, own_batch)
    if not callable(function):
        raise MethodError(f"method {name}: the function registered is not callable ({type(function).__name__})")
    if convention == "quantus":
        return _quantus(function, own_batch)
    if builtin:
        return function
    takes_batch = own_batch or _takes(function, "batch_size")

    def ours(model, images, classes=None, **settings):
        if not takes_batch:
            settings.pop("batch_size", None)
        return function(model, images, classes, **settings)

    return ours


def _pair(name, method, needs, own_batch):
    if isinstance(method, type):
        method = method()
    if not callable(getattr(method, "GetMask", None)):
        raise MethodError(f"method {name}: a PAIR method is a saliency.core.CoreSaliency subclass or instance "
                          f"(with GetMask), got {type(method).__name__}")

    def pair(model, images, classes=None, *, layer=None, **settings):
        from .base import resolve_classes, tile_channels

        batch_size = None if own_batch else settings.pop("batch_size", None)
        x = model.check_images(images)
        classes = resolve_classes(model, x, classes, batch_size)
        if "conv_layer" in needs:
            from .gradcam import gradcam_layer
            call = model.call_model_function(layer=gradcam_layer(model, layer))
        else:
            call = model.call_model_function()
        masks = []
        for image, c in zip(x, classes):
            mask = np.asarray(method.GetMask(image, call, {"class_idx": int(c)}, **settings), dtype=np.float32)
            if mask.ndim == 3 and mask.shape[-1] != x.shape[-1] and (mask == mask[..., :1]).all():
                mask = mask[..., 0]   # PAIR's three_dims: one map copied into 3 channels, whatever the image's
            masks.append(tile_channels(mask[None], x.shape[-1])[0] if mask.ndim == 2 else mask)
        return np.stack(masks) if masks else np.zeros(x.shape, np.float32)

    return pair


def _quantus(explain_func, own_batch):
    def quantus(model, images, classes=None, **settings):
        from .base import resolve_classes

        batch_size = settings.get("batch_size") if own_batch else settings.pop("batch_size", None)
        x = model.check_images(images)
        classes = resolve_classes(model, x, classes, batch_size)
        network = model.framework_model()
        channels_first = model.framework_layout == "NCHW"
        step = int(batch_size or model.architecture.batch_size)
        out = []
        for start in range(0, len(x), step):
            inputs = x[start:start + step]
            inputs = np.ascontiguousarray(inputs.transpose(0, 3, 1, 2) if channels_first else inputs)
            with model.framework_scope():   # a Keras model: eager execution, for its GradientTape
                result = explain_func(model=network, inputs=inputs,
                                      targets=classes[start:start + step].astype(np.int64), **settings)
                out.append(to_contract(result, (len(inputs),) + x.shape[1:], channels_first))
        return np.concatenate(out) if out else np.zeros(x.shape, np.float32)

    return quantus


def to_contract(attributions, shape, channels_first):
    """Attributions in a framework's layout -> (N, H, W, C) float32 of ``shape`` where they can be made so;
    anything else is returned as it is (and refused by the shape check)."""
    if hasattr(attributions, "detach"):   # a torch tensor
        attributions = attributions.detach().cpu().numpy()
    a = np.asarray(attributions, dtype=np.float32)
    n, h, w, c = shape
    if a.ndim == 4 and channels_first and a.shape[2:] == (h, w):
        a = a.transpose(0, 2, 3, 1)
    if a.ndim == 3 and a.shape == (n, h, w):
        a = a[..., None]
    if a.ndim == 4 and a.shape[:3] == (n, h, w) and a.shape[3] == 1 and c > 1:
        a = np.repeat(a, c, axis=3)
    return a
