"""Several methods over one batch of images, sharing what they have in common."""
import numpy as np

from .. import progress, tally
from . import failures
from .base import resolve_classes
from .registry import available_methods, get_spec, method_settings, resolve_settings
from .smoothing import noise_rng


def _memo_key(name, settings):
    try:
        key = (name, tuple(sorted(settings.items())))
        hash(key)
        return key
    except TypeError:   # e.g. an array baseline: computed every time it is asked for
        return None


def compute_masks(model, images, methods=None, classes=None, seed=0, settings=None, batch_size=None,
                  image_ids=None):
    """Masks of several methods: {method: (N, H, W, C) float32}, in the order asked.

    Args:
        model: a :class:`~sanity_checks.model.GraphModel`.
        images: (N, H, W, C).
        methods: method names (default: every method the model supports, ``available_methods``).
        classes: None (each image's current top class, computed once here), an int, or (N,) ints.
        seed: an int (or a tuple of ints) keys every noisy method's per-image noise generators
            (``smoothing.noise_rng(seed, image id)``), so its masks equal a call of that method alone
            with the same seed, whichever images share the batch; a Generator is shared and drawn
            from in the order the methods are listed.
        settings: {method: {setting: value}} overriding ``DEFAULT_SETTINGS``.
        batch_size: images per session.run (default ``model.architecture.batch_size``).
        image_ids: the images' ids for their noise (default 0..N-1).

    The gradient (for Gradient⊙Input), guided backprop and GradCAM (for Guided GradCAM) are
    computed once per call and reused.

    A method's own ``batch_size`` setting (PAIR's) is given instead of ``batch_size``. A method that raises, or returns masks of another shape or not finite, is a :class:`MethodError`
    naming it and the image; inside a run's task (``failures.collecting``) it is recorded instead and its
    masks of those images are zeros, so that the other methods go on.
    """
    if methods is None:
        names = available_methods(model)
    else:
        names = list(dict.fromkeys([methods] if isinstance(methods, str) else methods))
    per_method = resolve_settings(model, names, settings)   # fail before any work
    x = model.check_images(images)
    classes = resolve_classes(model, x, classes, batch_size)
    shared_rng = seed if isinstance(seed, np.random.Generator) else None
    if shared_rng is None:
        noise_rng(seed, 0)  # validates the seed
    memo = {}
    ids = np.arange(len(x)) if image_ids is None else np.asarray(image_ids)

    def run(name, kwargs):
        spec = get_spec(name)
        kwargs = method_settings(name, kwargs)
        key = None if spec.noisy else _memo_key(name, kwargs)
        if key is not None and key in memo:
            return memo[key]
        extra = {arg: run(part, {k: kwargs[k] for k in passed}) for arg, part, passed in spec.parts}
        if spec.noisy:
            extra["seed"] = shared_rng if shared_rng is not None else seed
            extra["image_ids"] = image_ids
        try:
            result = spec.function(model, x, classes, **{"batch_size": batch_size, **kwargs}, **extra)
        except Exception as err:   # a user's method may raise anything: one line, the others go on
            failures.failed(name, ids, f"{type(err).__name__}: {' '.join(str(err).split())}"[:300])
            result = np.zeros(x.shape, np.float32)
        else:
            result = failures.check(name, result, x.shape, ids)
        if key is not None:
            memo[key] = result
        return result

    out = {}
    ids = np.arange(len(x)) if image_ids is None else image_ids
    for name in names:
        progress.method(get_spec(name).label)
        out[name] = run(name, per_method[name])
        tally.masks(get_spec(name).label, out[name], ids)   # counted when a run collects warnings
    return out

