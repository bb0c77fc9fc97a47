"""Model parameter randomization, all in memory.

A :class:`Randomizer` takes a snapshot of the trained weights once, then for each step restores the
snapshot and perturbs the parameters of the chosen blocks, through the model contract's
``get_weights`` / ``set_weights`` / ``initial_value`` (any engine). No checkpoint is read per step and
none is ever written.

*Which* blocks: :func:`cascading_steps` (top block first, then each block below it too) and
:func:`independent_steps` (one block at a time, the rest trained), from the block list the
architecture declares. *How*: a :class:`Strategy`:

- ``"reinit"`` (default, as the original code): each variable is re-drawn from its own initializer
  (the one it was created with, recorded by the model), e.g. CNN weights truncated normal 0.1 and
  biases 0.1, MLP weights truncated normal 2/sqrt(fan_in) and biases 0, Inception variance scaling.
- ``"truncated_normal"``: truncated normal, mean 0, std 0.01 (what the paper's appendix says).
- ``"uniform"``: uniform with the same std, U(-0.01*sqrt(3), 0.01*sqrt(3)) (the paper's variant).
- ``"noise"``: trained value + N(0, sigma^2), sigma absolute or relative to each variable's own
  standard deviation (the model noise test).
- ``"shuffle"``: the trained values permuted in place (same values, new positions), a seeded
  permutation of the flattened variable.

*In which order* the cascade goes is the Randomizer's ``order``: ``"top-down"`` (the original:
output block first, then each block below it too) or ``"bottom-up"`` (input block first, then each
block above it too; step k randomizes exactly the k lowest blocks), as Binder et al. (2023) and
Hedström et al. (2023) recommend.

Seeds: every variable's draw comes from ``SeedSequence([seed, crc32(variable name)])``, so the same
seed gives the same randomized weights whatever the order of steps, and a cascade is cumulative:
step k re-draws the blocks of step k-1 with the very same values and adds one block.
"""
import contextlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import progress as progress_bar, tally
from .errors import SanityCheckError
from .random_streams import parameter_rng as variable_rng

ORIGINAL = "original"


def _initializer_seed(rng):
    return int(rng.integers(0, 2**31 - 1))


@dataclass(frozen=True)
class Strategy:
    """How a variable is perturbed. ``kind``: reinit, truncated_normal, uniform or noise."""

    kind: str = "reinit"
    std: float = 0.01           # truncated_normal / uniform: the target std; noise: sigma
    relative: bool = False      # noise only: sigma times the variable's own std

    KINDS = ("reinit", "truncated_normal", "uniform", "noise", "shuffle")

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise SanityCheckError(f"unknown randomization {self.kind!r}; valid: {', '.join(self.KINDS)}")
        if self.std < 0:
            raise SanityCheckError(f"the standard deviation must be >= 0, got {self.std}")

    def perturb(self, name, trained, rng, redraw=None):
        """New value for parameter ``name`` (trained value ``trained``), drawn from ``rng``.

        ``redraw(seed)``: a fresh draw from the parameter's own initializer (the model's
        ``initial_value``), which "reinit" seeds from ``rng``.
        """
        shape, dtype = trained.shape, trained.dtype
        if self.kind == "reinit":
            return redraw(_initializer_seed(rng))
        if self.kind == "truncated_normal":
            value = rng.standard_normal(shape)
            bad = np.abs(value) > 2
            while bad.any():  # re-draw beyond two std, as tf.truncated_normal does
                value[bad] = rng.standard_normal(int(bad.sum()))
                bad = np.abs(value) > 2
            return (value * (self.std / 0.8796256610342398)).astype(dtype)  # std of N(0,1) cut at +-2
        if self.kind == "uniform":
            half_width = self.std * np.sqrt(3.0)
            return rng.uniform(-half_width, half_width, shape).astype(dtype)
        if self.kind == "shuffle":
            return rng.permutation(trained.reshape(-1)).reshape(shape)
        sigma = self.std * (float(np.std(trained)) if self.relative else 1.0)
        return (trained + rng.normal(0.0, sigma, shape)).astype(dtype)

    def describe(self):
        if self.kind == "reinit":
            return "re-initialized from each variable's own initializer"
        if self.kind == "shuffle":
            return "values permuted in place (seeded)"
        if self.kind == "noise":
            return f"+ N(0, {self.std}^2)" + (" x the variable's std" if self.relative else "")
        return f"{self.kind.replace('_', ' ')} with std {self.std}"


@dataclass(frozen=True)
class Step:
    """One model state: a label and the blocks randomized in it (none for the original model)."""

    label: str
    blocks: tuple


def cascading_steps(block_names):
    """[original, top, top + next, ..., all blocks]: ``block_names`` is top (output) first."""
    names = list(block_names)
    return [Step(ORIGINAL, ())] + [Step(name, tuple(names[:i + 1])) for i, name in enumerate(names)]


def independent_steps(block_names):
    """[original, each block alone]."""
    return [Step(ORIGINAL, ())] + [Step(name, (name,)) for name in block_names]


STEPS = {"cascading": cascading_steps, "independent": independent_steps}
#: Cascade orders: top-down (output block first, the original) and bottom-up (input block first).
ORDERS = ("top-down", "bottom-up")


class Randomizer:
    """Snapshot a model's weights once; randomize blocks in memory; restore.

    Args:
        model: a :class:`~sanity_checks.contract.Model`.
        strategy: a :class:`Strategy` (default: re-draw from each variable's own initializer).
        seed: the randomization seed.
        include_moving_stats: also perturb non-trainable variables of a block (batch-norm moving
            mean and variance). The original never did (they are not trainable).
        order: 'top-down' (cascades start at the output block, the original) or 'bottom-up'
            (cascades start at the input block).
    """

    def __init__(self, model, strategy: Optional[Strategy] = None, seed=0, include_moving_stats=False,
                 order="top-down"):
        if order not in ORDERS:
            raise SanityCheckError(f"unknown order {order!r}; valid: {', '.join(ORDERS)}")
        self.order = order
        self.model = model
        self.strategy = strategy or Strategy()
        self.seed = seed
        self.include_moving_stats = include_moving_stats
        self.snapshot = model.get_weights()
        self.current = ()
        self._cache = {}

    def variables(self, block_name):
        """Names of the parameters a block owns (trainable ones unless include_moving_stats)."""
        block = self.model.architecture.block(block_name)
        return [p.name for p in self.model.parameters()
                if block.owns(p.name) and (p.trainable or self.include_moving_stats)]

    def _perturbed(self, name):
        if name not in self._cache:
            self._cache[name] = self.strategy.perturb(
                name, self.snapshot[name], variable_rng(self.seed, name),
                lambda seed: self.model.initial_value(name, seed))
        return self._cache[name]

    def randomize(self, blocks):
        """Set the model to: trained weights, except the variables of ``blocks`` perturbed."""
        names = [n for block in blocks for n in self.variables(block)]
        changed = set(names) | {n for block in self.current for n in self.variables(block)}
        values = {n: (self._perturbed(n) if n in names else self.snapshot[n]) for n in changed}
        if values:
            self.model.set_weights(values)
        self.current = tuple(blocks)
        return names

    def restore(self):
        """Back to the trained weights (from the in-memory snapshot)."""
        self.randomize(())

    def through(self, steps, desc=None, progress=None):
        """Yield (index, step) with the model set to each step's state in turn; the trained weights are
        back when the loop ends, also on error. The one loop over model states of every runner and check:
        it shows a bar over the states (``progress``; default: where this process shows progress,
        :mod:`~sanity_checks.progress`) and tells the warning tally which state it is at."""
        run = f"{self.order}/{self.strategy.describe()}"
        try:
            with contextlib.closing(progress_bar.states(list(steps), desc, progress)) as states:
                for index, step in enumerate(states):
                    tally.state(f"{run}/{index}")
                    self.randomize(step.blocks)
                    yield index, step
        finally:
            tally.state(None)
            self.restore()

    def steps(self, mode, blocks=None):
        """The steps of ``mode`` ('cascading' or 'independent') over ``blocks`` (default: all).

        Blocks go in the randomizer's ``order``: top first for 'top-down', bottom first for 'bottom-up'.
        """
        if mode not in STEPS:
            raise SanityCheckError(f"unknown mode {mode!r}; valid: {', '.join(STEPS)}")
        valid = self.model.architecture.block_names
        blocks = list(blocks) if blocks else valid
        for b in blocks:
            self.model.architecture.block(b)  # raises with the valid names
        ordered = [b for b in valid if b in blocks]
        if self.order == "bottom-up":
            ordered.reverse()
        return STEPS[mode](ordered)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()
