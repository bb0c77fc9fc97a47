"""The field's sanity checks since 2018, one module each, over the same batched method calls
(:func:`sanity_checks.methods.compute_masks`) and the same :class:`~sanity_checks.randomize.Randomizer`.

Every check is ``run(model, images, image_ids, seed=0, settings=None) -> CheckResult``: tidy rows
(one per image, method, state and metric; see :data:`common.COLUMNS`) plus a few maps for figures.
Each module declares it once, with all the report and its command line need to know (columns,
minimum effect, options, figures), as ``SPEC`` (:class:`~sanity_checks.checks.spec.CheckSpec`);
:data:`CHECKS` lists the specs.
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
from .spec import CheckSpec

#: Every check's :class:`~.spec.CheckSpec`, in the report's column (and command-line option) order.
_SPECS = (mprt.SPEC, smprt.SPEC, emprt.SPEC, random_logit.SPEC, input_invariance.SPEC, faithfulness.SPEC)
#: name -> :class:`~.spec.CheckSpec` (``CHECKS[name].run(...)``, ``.row_group``, ``.columns``, ...).
CHECKS = {spec.name: spec for spec in _SPECS}

__all__ = ["CHECKS", "COLUMNS", "CheckResult", "CheckSpec", "draw_rng", "CONTROLS", "EDGE", "INPUT_NOISE", "RANDOM"]
