"""The field's sanity checks since 2018, one module each, over the same batched method calls
(:func:`sanity_checks.methods.compute_masks`) and the same :class:`~sanity_checks.randomize.Randomizer`.

Every check is ``run(model, images, image_ids, seed=0, settings=None) -> CheckResult``: tidy rows
(one per image, method, state and metric; see :data:`common.COLUMNS`) plus a few maps for figures.
Its per-image work depends only on (model, images, image ids, seed, settings): every random draw
is seeded by (run seed, image id, what is drawn), never one stream for a batch, and every image is
explained in model calls of its own (TensorFlow rounds other batch shapes differently), so the images
can be split into tasks (``checks.jobs``, the report's tasks) and the rows merged to the same bytes.

Modules: ``controls`` (a fresh uniform-noise map per state, the model-independent edge map and
input x noise, next to every method in every check), ``mprt`` (cascading randomization, top-down and bottom-up),
``smprt`` (smoothed MPRT), ``emprt`` (efficient MPRT: entropy), ``random_logit`` (Sixt et al.
2020), ``input_invariance`` (Kindermans et al. 2017), ``faithfulness`` (pixel deletion).
"""
from . import emprt, faithfulness, input_invariance, mprt, random_logit, smprt
from ..random_streams import draw_rng
from .common import COLUMNS, CheckResult
from .controls import CONTROLS, EDGE, INPUT_NOISE, RANDOM

#: name -> module, in the report's column order.
CHECKS = {"mprt": mprt, "smprt": smprt, "emprt": emprt, "random_logit": random_logit,
          "input_invariance": input_invariance, "faithfulness": faithfulness}

__all__ = ["CHECKS", "COLUMNS", "CheckResult", "draw_rng", "CONTROLS", "EDGE", "INPUT_NOISE", "RANDOM"]
