"""The report's table and its verdict rules: the columns (which rows, which way is better, which
controls) and the minimum effects δ, both from the checks' specs (:data:`sanity_checks.checks.CHECKS`),
the tolerance of input invariance, and the rules as written into the report."""
from ..checks import CHECKS
from ..checks.spec import Column

#: Relative L1 change of a map under the compensated shift below which a method counts as
#: input-invariant: 0.1% of the map's mass. float32 rounding through these networks changes
#: the logits by ~1e-6 (relative); any change above 1e-3 is the method's, not the arithmetic's.
INVARIANCE_TOLERANCE = 1e-3
BOOTSTRAP_RESAMPLES = 2000
#: Minimum effect δ per check (its spec's ``min_effect``; none for input invariance), as a fraction of
#: the range its score moves in: a verdict asks for an improvement over the control of at least δ, so
#: that many images cannot turn a negligible difference (0.01 in Spearman) into a pass. 5% of the range
#: everywhere (each spec says what the range is).
MIN_EFFECT = {spec.name: spec.min_effect for spec in CHECKS.values() if spec.min_effect is not None}

#: The table's columns: every check's, in :data:`~sanity_checks.checks.CHECKS` order.
TABLE = tuple(column for spec in CHECKS.values() for column in spec.columns)


def rules(min_effect=None):
    """The verdict rules as written into the report, with the minimum effects δ of this report."""
    m = {**MIN_EFFECT, **(min_effect or {})}
    return f"""\
Verdict rules (decided per cell from the per-image scores of this run; 95% intervals are percentile
bootstrap intervals over images, {BOOTSTRAP_RESAMPLES} resamples, seeded; the same resampled images for every row of a column):

- **Randomization (top-down, bottom-up), sMPRT, random logit** (lower similarity is better), against two
  model-independent controls, each in turn: the **edge detector** (ignores the model and the class, so never
  changes) and **input × uniform noise** (fresh noise per state: it keeps only the input's structure, which
  on images with a zero background alone gives a high rank correlation). Let d be the per-image difference
  method − control and δ the minimum effect (randomization {m["mprt"]:g}, sMPRT {m["smprt"]:g}, random logit
  {m["random_logit"]:g}, on the Spearman / SSIM scale). Against one control: **pass** when the interval of
  mean(d) lies entirely below −δ (the map changed clearly more than the control), **fail** when it lies
  entirely above −δ (the improvement over the control is certainly smaller than δ, or there is none) or d is
  0 on every image, **inconclusive** when the interval contains −δ. The cell passes when it passes against
  both controls, fails when it fails against either, and is inconclusive otherwise.
- **eMPRT** (a larger entropy increase is better), against the edge control (increase 0): pass when the
  interval of mean(d) lies entirely above δ = {m["emprt"]:g} (the entropy rose by more than {100 * m["emprt"]:g}% of
  the trained map's), fail when entirely below δ or d is 0 on every image, inconclusive otherwise.
- **Faithfulness** (a smaller deletion area is better), against the **uniform-noise control**, which deletes
  pixels in a random order (chance): δ = {m["faithfulness"]:g} × the mean logit drop from the intact to the fully
  deleted image (the value is in the column's description); pass when the interval of mean(d) lies entirely
  below −δ (the logit falls clearly faster than with a random order), fail when entirely above −δ or d is 0
  on every image, inconclusive otherwise.
- **Input invariance** (the map should not change at all): pass when the interval of the mean relative L1
  change lies entirely at or below {INVARIANCE_TOLERANCE:g} (0.1% of the map's mass; float32 rounding through
  the network is ~1e-6), fail when it lies entirely above it, inconclusive otherwise. The edge control is
  invariant by construction and the noise control is not: they show the two ends.

- **Constant maps.** A map that is one value over the whole image (all zero, or not finite and set to zeros by
  the method) has no ranking to compare: when the *trained* model's map (the explained class's, for random
  logit) is constant on any image, the cell is **invalid**, with the number of such images, never pass or
  fail. A map that becomes constant only after the change (randomization, the shift, another class) did
  change, and is judged as such; the cell says on how many images it collapsed.

δ is set with `--min-effect` (defaults: 5% of the range each score moves in; δ = 0 gives the plain
"different from the control" test). The controls get verdicts by the same rules, which is the point: pure
noise passes every randomization check (Binder et al. 2023) and fails faithfulness; the edge map fails
every randomization check. Rows for the controls are judged against the same controls (a control against
itself fails). A pass only says "clearly better than the control in this run", never "correct".
"""


RULES = rules()

__all__ = ["BOOTSTRAP_RESAMPLES", "INVARIANCE_TOLERANCE", "MIN_EFFECT", "RULES", "TABLE", "Column", "rules"]
