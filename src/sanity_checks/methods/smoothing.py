"""Noise-averaged methods: SmoothGrad, IG-SmoothGrad and VarGrad, all samples batched.

Noise (documented so that PAIR can be fed the very same samples): for images x (N, H, W, C) with
ids ``image_ids`` (default 0..N-1) and S samples,

    z[i] = noise_rng(seed, image_ids[i]).standard_normal((S, H, W, C))   # float64, C order
    sigma_i = stdev_spread * (max(x_i) - min(x_i))    # float32, computed as PAIR does
    noise[i, s] = sigma_i * z[i, s]                   # float64; noisy = x_i + noise[i, s]

Each image's noise comes from its own generator, keyed by the seed and the image's id, so an
image gets the same noise whichever images share its batch, task or worker. ``seed`` is an int or
a tuple of ints naming the draw (e.g. (run seed, model state) for fresh noise per state). A
``np.random.Generator`` as ``seed`` is drawn from instead, for the whole batch in one
(N, S, H, W, C) stream. PAIR's ``GetSmoothedMask`` draws ``np.random.normal(0, sigma_i, x_i.shape)``
once per sample: returning ``noise[i, s]`` from that call for s = 0, 1, ... reproduces our masks
(see :func:`smoothing_noise`).
"""
import numpy as np

from .base import MethodError, finish, image_chunks, resolve_classes, sequential_sum
from ..random_streams import image_noise_rng as noise_rng
from .integrated_gradients import path_integrated_gradients


def noise_sigmas(x, stdev_spread):
    """Per-image noise std: stdev_spread * (max - min) of each image. (N,) float32 like PAIR."""
    flat = x.reshape(len(x), -1)
    return stdev_spread * (flat.max(axis=1) - flat.min(axis=1))


def _check_seed(seed, n, image_ids):
    """The image ids (default 0..n-1), after checking the seed and the ids."""
    if not isinstance(seed, np.random.Generator):
        noise_rng(seed, 0)
    ids = np.arange(n) if image_ids is None else np.asarray(image_ids).reshape(-1)
    if len(ids) != n:
        raise MethodError(f"need one image id per image ({n}), got {len(ids)}")
    return ids


def _noise_chunks(x, nsamples, stdev_spread, seed, image_ids, elements_per_sample):
    """Yield (slice, noise (n, S, H, W, C) float64) over chunks of whole images, in draw order."""
    if int(nsamples) < 1:
        raise MethodError(f"the number of noise samples must be >= 1, got {nsamples}")
    ids = _check_seed(seed, len(x), image_ids)
    sigmas = noise_sigmas(x, stdev_spread).astype(np.float64)
    shape = (nsamples,) + x.shape[1:]
    for part in image_chunks(len(x), nsamples * elements_per_sample):
        if isinstance(seed, np.random.Generator):
            z = seed.standard_normal((len(x[part]),) + shape)
        else:
            z = np.stack([noise_rng(seed, i).standard_normal(shape) for i in ids[part]])
        yield part, z * sigmas[part].reshape((-1,) + (1,) * (z.ndim - 1))


def smoothing_noise(images, nsamples, stdev_spread=0.15, seed=0, image_ids=None):
    """The noise our methods add: (N, S, H, W, C) float64 (see the module docstring)."""
    x = np.asarray(images, dtype=np.float32)
    return np.concatenate([noise for _, noise in
                           _noise_chunks(x, int(nsamples), stdev_spread, seed, image_ids, x[0].size)])


def noisy_masks(model, images, classes, mask_fn, nsamples, stdev_spread, seed=0, work_per_sample=1,
                image_ids=None):
    """Yield (slice, masks (n, S, H, W, C)) of ``mask_fn`` at the noisy copies of each image chunk.

    ``mask_fn(model, noisy (n*S, H, W, C) float64, classes (n*S,))`` returns masks of the noisy
    copies; each copy is explained for its clean image's class, as PAIR's feed_dict does.
    ``work_per_sample``: model inputs per noisy copy (IG's x_steps), to size the chunks.
    """
    x = model.check_images(images)
    nsamples = int(nsamples)
    for part, noise in _noise_chunks(x, nsamples, stdev_spread, seed, image_ids, work_per_sample * x[0].size):
        n = len(noise)
        noisy = (x[part, None] + noise).reshape((n * nsamples,) + x.shape[1:])
        masks = mask_fn(model, noisy, np.repeat(classes[part], nsamples))
        yield part, np.asarray(masks).reshape((n, nsamples) + x.shape[1:])


def _smoothed(model, images, classes, mask_fn, nsamples, stdev_spread, magnitude, seed, name, batch_size,
              work_per_sample=1, image_ids=None):
    x = model.check_images(images)
    _check_seed(seed, len(x), image_ids)
    classes = resolve_classes(model, x, classes, batch_size)
    out = np.empty(x.shape, np.float32)
    for part, masks in noisy_masks(model, x, classes, mask_fn, nsamples, stdev_spread, seed, work_per_sample,
                                   image_ids):
        out[part] = sequential_sum(masks * masks if magnitude else masks, axis=1) / int(nsamples)
    return finish(out, name)


def smoothgrad(model, images, classes=None, *, stdev_spread=0.15, nsamples=50, magnitude=False, seed=0,
               image_ids=None, batch_size=None):
    """SmoothGrad of the gradient: mean over ``nsamples`` noisy copies (``magnitude``: of squares).

    Defaults are the original's (0.15, 50, plain mean). (N, H, W, C) -> (N, H, W, C) float32.
    ``seed`` and ``image_ids`` key each image's noise (module docstring).
    """
    def gradients(model, noisy, noisy_classes):
        return model.input_gradients(noisy, noisy_classes, batch_size=batch_size)
    return _smoothed(model, images, classes, gradients, nsamples, stdev_spread, magnitude, seed,
                     "smoothgrad", batch_size, image_ids=image_ids)


def ig_smoothgrad(model, images, classes=None, *, stdev_spread=0.15, nsamples=25, magnitude=False, x_steps=50,
                  baseline=None, seed=0, image_ids=None, batch_size=None):
    """SmoothGrad of Integrated Gradients (the notebooks' library default of 25 samples, 50 steps).

    The noisy copies stay float64 into IG, as in PAIR. (N, H, W, C) -> (N, H, W, C) float32.
    """
    def integrated(model, noisy, noisy_classes):
        return path_integrated_gradients(model, noisy, noisy_classes, x_steps, baseline, batch_size)
    return _smoothed(model, images, classes, integrated, nsamples, stdev_spread, magnitude, seed,
                     "ig_smoothgrad", batch_size, work_per_sample=int(x_steps), image_ids=image_ids)


def vargrad(model, images, classes=None, *, stdev_spread=0.15, nruns=25, seed=0, image_ids=None, batch_size=None):
    """VarGrad: population variance (``np.var``) of ``nruns`` noisy gradient masks.

    The original's ``utils.vargrad`` (noise_std 0.15, nruns 25). (N, H, W, C) float32.
    """
    x = model.check_images(images)
    _check_seed(seed, len(x), image_ids)
    classes = resolve_classes(model, x, classes, batch_size)

    def gradients(model, noisy, noisy_classes):
        return model.input_gradients(noisy, noisy_classes, batch_size=batch_size)
    out = np.empty(x.shape, np.float32)
    for part, masks in noisy_masks(model, x, classes, gradients, nruns, stdev_spread, seed, image_ids=image_ids):
        out[part] = np.var(masks, axis=1)
    return finish(out, "vargrad")
