"""report.md: the header and its notes, the verdict table, what would decide its inconclusive cells, the
per-baseline input-invariance table, the model's entropy line and the rules, as markdown (the settings are in
run.json)."""
import os

import numpy as np

from ..checks.controls import EDGE, LABELS as CONTROL_LABELS
from ..files import atomic_path
from .about import GUIDED_NOTE, header_line, notes
from .judging import bootstrap_indices, column_values, judge, judge_all, min_effects, with_constant_maps
from .rules import MIN_EFFECT, TABLE, Column, rules


def _jsonable(obj):
    from ..checks.jobs import jsonable
    return jsonable(obj)


def _fmt(x):
    if not np.isfinite(x):
        return "nan"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def format_cell(cell):
    if cell.same_as:
        return GUIDED_NOTE
    if cell.constant:
        return f"**invalid** (the trained model's map is constant on {cell.constant} of {cell.images} images)"
    if cell.n == 0:
        return "n/a"
    lo, hi = cell.interval
    collapsed = f" ({cell.collapsed} of {cell.images} maps collapsed to a constant)" if cell.collapsed else ""
    return f"{_fmt(cell.mean)} [{_fmt(lo)}, {_fmt(hi)}] **{cell.verdict}**{collapsed}"


def label(name):
    from ..methods import method_label
    return CONTROL_LABELS.get(name) or method_label(name)


def markdown_table(cells, names, columns):
    columns = [c for c in columns if any((n, c.title) in cells for n in names)]
    lines = ["| method | " + " | ".join(c.title for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name in names:
        lines.append(f"| {label(name)} | " + " | ".join(
            format_cell(cells[(name, c.title)]) if (name, c.title) in cells else "" for c in columns) + " |")
    return "\n".join(lines)


def input_invariance_table(rows, names, seed):
    """Per method and baseline: the relative L1 change, interval and verdict."""
    variants = []
    for name in names:
        details = sorted({r["detail"] for r in rows if r["check"] == "input_invariance" and r["method"] == name})
        variants += [(name, d) for d in details]
    if not variants:
        return ""
    lines = ["| method | baseline | relative L1 change [95% interval] | verdict |", "|---|---|---|---|"]
    for name, detail in variants:
        column = Column("input invariance", "input_invariance", "relative_l1", "lower", (EDGE,), detail=detail)
        values = column_values(rows, column, name)
        control = column_values(rows, Column("x", "input_invariance", "relative_l1", "lower", (EDGE,),
                                             detail="default"), EDGE)
        cell = with_constant_maps(judge(values, control, column, bootstrap_indices(len(control), seed,
                                                                                  "input invariance")),
                                  rows, column, name, values)
        lo, hi = cell.interval
        text = format_cell(cell) if cell.constant else f"{_fmt(cell.mean)} [{_fmt(lo)}, {_fmt(hi)}]"
        lines.append(f"| {label(name)} | {detail or '—'} | {text} | {cell.verdict} |")
    return "\n".join(lines)


def model_entropy_line(rows, seed):
    mine = [r for r in rows if r["check"] == "emprt" and r["method"] == "model_output"
            and r["metric"] == "entropy_increase"]
    values = {r["image"]: r["value"] for r in mine}
    outcomes = ("the sigmoid's two outcomes" if any(r.get("detail") == "sigmoid" for r in mine)
                else "softmax over classes")
    if not values:
        return ""
    v = np.array([values[i] for i in sorted(values)])
    v = v[np.isfinite(v)]
    if not len(v):
        return ""
    means = v[bootstrap_indices(len(v), seed, "model entropy")].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (f"The model's own output entropy ({outcomes}) changes by {_fmt(v.mean())} [{_fmt(lo)}, {_fmt(hi)}] "
            f"(relative) from the trained to the fully randomized model: "
            + ("the randomization changed the function." if v.mean() != 0 else "the function did not change."))


def _effect_note(column, deltas, min_effect):
    if column.title not in deltas:
        return ""
    fraction = {**MIN_EFFECT, **(min_effect or {})}[column.check]
    if column.effect_unit:
        return f", minimum effect δ = {fraction:g} × the mean {column.effect_unit} = {_fmt(deltas[column.title])}"
    return f", minimum effect δ = {_fmt(deltas[column.title])}"


def same_as_gradient(cells, about):
    """Mark Guided BackProp's cells as equal to Gradient's when the model has no guided activation."""
    if (about or {}).get("guided_equals_gradient"):
        for (name, _), cell in cells.items():
            if name == "guided_backprop":
                cell.same_as, cell.verdict = "gradient", "= Gradient"
    return cells


def decide_lines(cells, names, columns=TABLE):
    """One line per inconclusive cell: the images that would decide it at the spread this run observed."""
    lines = []
    for name in names:
        for column in columns:
            cell = cells.get((name, column.title))
            if cell is None or cell.verdict != "inconclusive" or not cell.decide:
                continue
            d = cell.decide
            against = f" against the {label(d['control']).split(': ')[1]} control" if d.get("control") else ""
            boundary = "the tolerance" if column.check == "input_invariance" else "δ"
            if d["images"] is None:
                lines.append(f"- **{label(name)}, {column.title}**: the mean sits on {boundary}{against}; no number "
                             f"of images decides it at this spread.")
                continue
            lines.append(f"- **{label(name)}, {column.title}**: about {d['images']} images (this run: {cell.n}) would "
                         f"put the 95% interval clear of {boundary}{against}, on the side of a {d['leaning']} where "
                         f"the mean lies, at the observed spread (standard deviation {_fmt(d['spread'])} per image, "
                         f"mean {_fmt(d['gap'])} from {boundary}).")
    return lines


def write_report(out, rows, names, settings, header, seed, figures_written, skipped=None, min_effect=None,
                 about=None):
    """report.md; ``about`` (:func:`~sanity_checks.report.about.describe_model`) gives the header when ``header``
    is empty, and the notes. ``settings`` are not written here (they are in run.json)."""
    cells = same_as_gradient(judge_all(rows, names, seed, min_effect=min_effect), about)
    deltas = min_effects(rows, min_effect)
    header = header or (header_line(about) if about else "")
    parts = [f"# Sanity-check report\n\n{header}\n"] + [line + "\n" for line in notes(about or {})]
    parts += ["## Verdicts\n",
              "Each cell: mean score over images [95% bootstrap interval] and the verdict.\n",
              markdown_table(cells, names, TABLE), "",
              "Columns:\n\n" + "\n".join(
                  f"- **{c.title}**: {c.explanation}; {c.better} is better; judged against the "
                  + " and the ".join(label(x).split(": ")[1] for x in c.controls)
                  + (" controls" if len(c.controls) > 1 else " control") + _effect_note(c, deltas, min_effect) + "."
                  for c in TABLE if any((n, c.title) in cells for n in names)), ""]
    decide = decide_lines(cells, names)
    if decide:
        parts += ["## Inconclusive cells: what would decide them\n",
                  "Images needed for the 95% interval to clear the boundary, (1.96 × standard deviation / distance of "
                  "the mean from the boundary)², if more images showed the spread and mean of these:\n",
                  "\n".join(decide), ""]
    parts += [rules(min_effect)]
    if skipped:
        parts += ["## Checks not run\n"] + [f"- **{check}**: {reason}" for check, reason in skipped.items()] + [""]
    line = model_entropy_line(rows, seed)
    if line:
        parts += ["## eMPRT: the model itself\n", line, ""]
    table = input_invariance_table(rows, names, seed)
    if table:
        parts += ["## Input invariance, per baseline\n", table, ""]
    if figures_written:
        parts += ["## Figures\n"] + [f"![{name}]({name})" for name in figures_written] + [""]
    parts += ["## Settings\n", "Every setting of this run, asked for and used, is in `run.json` (key `report`); "
              "each check's own in `CHECK.json`.", ""]
    path = os.path.join(out, "report.md")
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("\n".join(parts))
    return path, cells
