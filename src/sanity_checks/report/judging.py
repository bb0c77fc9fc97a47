"""Judging a column: per-image scores of a row against a control, a percentile bootstrap interval over
images, and a verdict by the rules of :mod:`~sanity_checks.report.rules`."""
from dataclasses import dataclass

import math

import numpy as np

from ..checks import draw_rng
from ..checks.common import CONSTANT_COMPARED, CONSTANT_REFERENCE
from ..checks.controls import RANDOM
from .rules import BOOTSTRAP_RESAMPLES, INVARIANCE_TOLERANCE, MIN_EFFECT, TABLE


def column_values(rows, column, name, metric=None):
    """{image id: score} of method or control ``name`` in ``column`` (``metric``: another metric's rows at the
    column's state, e.g. :data:`~sanity_checks.checks.common.CONSTANT_COMPARED`)."""
    rows = [r for r in rows if r["check"] == column.check and r["method"] == name]
    if column.order:
        rows = [r for r in rows if r["order"] == column.order]
        last = max((r["step_index"] for r in rows if r["metric"] == column.metric), default=None)
        rows = [r for r in rows if r["step_index"] == last]
    rows = [r for r in rows if r["metric"] == (metric or column.metric)]
    if column.detail == "default":
        rows = [r for r in rows if r["detail"] in ("", "zero baseline")]
    elif column.detail is not None:
        rows = [r for r in rows if r["detail"] == column.detail]
    return {r["image"]: r["value"] for r in rows}


@dataclass
class Cell:
    """One cell of the table. ``constant``: images whose reference map (the trained model's) is constant (the
    verdict is then ``invalid``); ``collapsed``: images whose compared map (after randomization, the shift,
    for another class) is constant, a real change that the report counts."""

    mean: float
    interval: tuple
    verdict: str
    n: int
    difference: tuple = (np.nan, np.nan)
    constant: int = 0
    collapsed: int = 0
    images: int = 0
    #: an inconclusive cell: {"images": images that would decide it at the observed spread, "spread": std of the
    #: per-image difference, "gap": |improvement - δ| (input invariance: |mean - tolerance|), "control": the
    #: control that needs the most}; None otherwise
    decide: dict = None
    #: "gradient" when the row equals Gradient by construction (Guided BackProp on a model with no ReLU family)
    same_as: str = ""


def constant_images(rows, column, name):
    """(images whose reference map is constant, images whose compared map is constant) of ``name`` in ``column``:
    the reference map at any state of the check (it is the trained model's), the compared one at the column's."""
    reference = {r["image"] for r in rows if r["check"] == column.check and r["method"] == name
                 and r["metric"] == CONSTANT_REFERENCE
                 and (column.detail != "default" or r["detail"] in ("", "zero baseline"))
                 and (column.detail in (None, "default") or r["detail"] == column.detail)}
    return reference, set(column_values(rows, column, name, CONSTANT_COMPARED))


def with_constant_maps(cell, rows, column, name, values):
    """``cell`` with its counts of constant maps among the images of ``values``; ``invalid`` when the reference
    map is constant on any of them (a map that says nothing cannot pass, nor fail, a check)."""
    constant, collapsed = constant_images(rows, column, name)
    cell.constant, cell.collapsed, cell.images = len(constant & set(values)), len(collapsed & set(values)), len(values)
    if cell.constant:
        cell.verdict = "invalid"
    return cell


def images_to_decide(scores, gap):
    """Images a 95% interval of the mean of ``scores`` needs to lie clear of a boundary ``gap`` away from the
    mean, at the scores' spread: (1.96 sd / gap)^2 (normal approximation); None when it cannot (gap 0, spread 0)."""
    spread = float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0
    if not gap > 0 or not spread > 0:
        return None, spread
    return int(math.ceil((1.96 * spread / gap) ** 2)), spread


def bootstrap_indices(n, seed, what, resamples=BOOTSTRAP_RESAMPLES):
    return draw_rng(seed, 0, f"bootstrap/{what}").integers(0, n, size=(resamples, n))


def combine(verdicts):
    """Pass only if every control is beaten; fail if any control is not beaten in the wrong direction."""
    if all(v == "pass" for v in verdicts):
        return "pass"
    return "fail" if "fail" in verdicts else "inconclusive"


def judge(values, control_values, column, indices, min_effect=0.0):
    """A :class:`Cell` from per-image scores of a row and of one control (same image ids).

    ``min_effect``: δ in the column's score units: the improvement good·mean(d) must be certainly above δ
    to pass, and is certainly below δ to fail (good = -1 when lower is better, +1 when higher is)."""
    ids = sorted(set(values) & set(control_values))
    v = np.array([values[i] for i in ids], dtype=np.float64)
    ok = np.isfinite(v)
    if not ids or not ok.any():
        return Cell(np.nan, (np.nan, np.nan), "inconclusive", 0)
    c = np.array([control_values[i] for i in ids], dtype=np.float64)
    # resample the images that have a finite score (e.g. eMPRT is undefined on an all-zero original map)
    keep = np.flatnonzero(ok & np.isfinite(c))
    if len(keep) < len(ids):
        indices = bootstrap_indices(len(keep), 0, f"{column.title}/{len(keep)}")
    v, c = v[keep], c[keep]
    means = v[indices].mean(axis=1)
    interval = tuple(np.percentile(means, [2.5, 97.5]))
    d = v - c
    diffs = d[indices].mean(axis=1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    if column.check == "input_invariance":
        verdict = "pass" if interval[1] <= INVARIANCE_TOLERANCE else \
            "fail" if interval[0] > INVARIANCE_TOLERANCE else "inconclusive"
        scores, gap = v, abs(float(v.mean()) - INVARIANCE_TOLERANCE)
        leaning = "pass" if v.mean() <= INVARIANCE_TOLERANCE else "fail"
    else:
        good = -1.0 if column.better == "lower" else 1.0
        worst, best = sorted((good * lo, good * hi))   # the interval of the improvement over the control
        if np.all(d == 0):
            verdict = "fail"
        elif worst > min_effect:
            verdict = "pass"
        elif best < min_effect:
            verdict = "fail"
        else:
            verdict = "inconclusive"
        scores, gap = d, abs(good * float(d.mean()) - min_effect)
        leaning = "pass" if good * float(d.mean()) > min_effect else "fail"
    decide = None
    if verdict == "inconclusive":
        needed, spread = images_to_decide(scores, gap)
        decide = {"images": needed, "spread": spread, "gap": gap, "leaning": leaning}
    return Cell(float(v.mean()), interval, verdict, int(len(v)), (float(lo), float(hi)), decide=decide)


def logit_drop(rows):
    """Mean over images of |logit of the intact image - logit of the fully deleted one| (faithfulness rows;
    the same for every map of an image), or nan without faithfulness rows."""
    curves = {}
    for r in rows:
        if r["check"] == "faithfulness" and r["metric"] == "logit" and r["method"] == RANDOM:
            curves.setdefault(r["image"], {})[r["step_index"]] = r["value"]
    drops = [abs(c[0] - c[max(c)]) for c in curves.values() if 0 in c]
    return float(np.mean(drops)) if drops else float("nan")


def min_effects(rows, min_effect=None, columns=TABLE):
    """{column title: δ in the column's score units} from the fractions ``min_effect`` ({check: δ}, over
    :data:`MIN_EFFECT`)."""
    fractions = {**MIN_EFFECT, **(min_effect or {})}
    out = {}
    for column in columns:
        if column.check in fractions:
            scale = logit_drop(rows) if column.effect_unit == "logit drop" else 1.0
            out[column.title] = fractions[column.check] * scale if np.isfinite(scale) else 0.0
    return out


def judge_all(rows, names, seed, columns=TABLE, min_effect=None):
    """{(row name, column title): Cell} for every row name (methods then controls) and column with results.

    ``min_effect``: {check: δ as a fraction of the score's range} over :data:`MIN_EFFECT` (see :func:`rules`)."""
    cells = {}
    deltas = min_effects(rows, min_effect, columns)
    for column in columns:
        controls = [column_values(rows, column, c) for c in column.controls]
        if not all(controls):
            continue
        indices = bootstrap_indices(len(controls[0]), seed, column.title)
        for name in names:
            values = column_values(rows, column, name)
            if values:
                judged = [judge(values, control, column, indices, deltas.get(column.title, 0.0))
                          for control in controls]
                # the control that needs the most images decides an inconclusive cell
                open_ = [dict(j.decide, control=c) for j, c in zip(judged, column.controls) if j.decide]
                cell = judged[0]
                cell.verdict = combine([j.verdict for j in judged])
                cell.decide = None if cell.verdict != "inconclusive" else \
                    max(open_, key=lambda o: math.inf if o["images"] is None else o["images"], default=None)
                cells[(name, column.title)] = with_constant_maps(cell, rows, column, name, values)
    return cells
