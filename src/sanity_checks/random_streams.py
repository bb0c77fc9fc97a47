"""Every keyed random stream of the toolkit, in one place.

No draw ever comes from a global generator or from one stream shared by a batch: each generator
is keyed by the run's seed and by *what it is for* (a parameter's name, an image's id and the
thing drawn), so the same seed gives the same bytes however the work is split into tasks,
workers, shards or machines.

- :func:`generator`: an ``np.random.Generator`` from a plain seed (data splits, label permutations).
- :func:`parameter_rng`: one model parameter's re-draw, keyed by (seed, crc32(name)) (``randomize``).
- :func:`image_noise_rng`: one image's noise samples (SmoothGrad, VarGrad, IG-SmoothGrad), keyed by
  the seed key (an int or a tuple, e.g. (run seed, model state)) and the image id (``methods``).
- :func:`draw_rng`: one image's draw of a named thing, keyed by (seed, image id, crc32(what))
  (the checks' controls, random logits, tie-breaking, bootstrap resamples).
- :func:`state_seed`: the noise seed key of a model state (fresh noise per state, or shared).
"""
import zlib

import numpy as np

from .errors import SanityCheckError

#: How noisy methods draw their noise across model states (see :func:`state_seed`).
NOISE_MODES = ("per-state", "shared")


class SeedError(SanityCheckError):
    """A seed that is not an int, a tuple of ints or a numpy Generator."""


def _crc(text):
    return zlib.crc32(str(text).encode())


def generator(seed=0):
    """An ``np.random.Generator`` from an int seed (or a Generator, used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise SeedError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")


def parameter_rng(seed, name):
    """The generator of one parameter's draw: depends on the seed and the parameter's name only."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _crc(name)]))


def image_noise_rng(seed, image_id):
    """The generator of one image's noise: ``SeedSequence([*seed key, image id])``."""
    key = tuple(seed) if isinstance(seed, (tuple, list)) else (seed,)
    try:
        entropy = [int(k) for k in key] + [int(image_id)]
        return np.random.default_rng(np.random.SeedSequence(entropy))
    except (TypeError, ValueError):
        raise SeedError(f"seed must be an int, a tuple of ints or a numpy Generator, got {seed!r}") from None


def draw_rng(seed, image_id, what):
    """The generator of one draw: seeded by (run seed, image id, what is drawn), nothing else.

    So an image's draws do not depend on which other images share its batch or task.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(image_id), _crc(what)]))


def state_seed(seed, step_index, noise="per-state"):
    """The methods' noise seed at model state ``step_index`` (0 = the trained model).

    'per-state' (the default) draws fresh noise at every state, as the original did (it called the
    methods unseeded at every state); the trained model keeps ``seed`` itself, so its masks equal a
    plain ``compute_masks(..., seed=seed)``, and state k uses a seed derived from (seed, k).
    'shared' gives every state the same realization: a common noise pattern then enters the masks
    of all states (through x + noise) and makes them look more alike than the model does.
    """
    if noise not in NOISE_MODES:
        raise SanityCheckError(f"noise must be one of {', '.join(NOISE_MODES)}, got {noise!r}")
    if noise == "shared" or step_index == 0:
        return seed
    return int(np.random.SeedSequence([seed, step_index]).generate_state(1)[0])
