"""One report with a verdict per method: every check of :mod:`sanity_checks.checks`, each cell a
score with a 95% bootstrap interval over images and a verdict decided against the controls
measured in the same run.

The checks run as the tasks of a :mod:`~sanity_checks.runs` job (:mod:`sanity_checks.checks.jobs`:
groups of images, parts under OUT/parts, resume, pool, shards, Dask); this module writes each
check's merged tidy results, formats and judges them. ``src/sanity_report.py`` is its command line.
"""
import argparse
import csv
import json
import os
from dataclasses import dataclass

import numpy as np

from .checks import CHECKS, COLUMNS, draw_rng
from .checks.controls import CONTROLS, EDGE, INPUT_NOISE, LABELS as CONTROL_LABELS, RANDOM
from .errors import SanityCheckError
from .files import all_or_nothing, atomic_path, check_output_folder, save_figure, save_json

#: Relative L1 change of a map under the compensated shift below which a method counts as
#: input-invariant: 0.1% of the map's mass. float32 rounding through these networks changes
#: the logits by ~1e-6 (relative); any change above 1e-3 is the method's, not the arithmetic's.
INVARIANCE_TOLERANCE = 1e-3
BOOTSTRAP_RESAMPLES = 2000
#: Minimum effect δ per check, as a fraction of the range its score moves in: a verdict asks for an
#: improvement over the control of at least δ, so that many images cannot turn a negligible
#: difference (0.01 in Spearman) into a pass. 5% of the range everywhere:
#: - similarities (Spearman of absolute maps, SSIM; 0 ... 1 here): 0.05;
#: - eMPRT (a relative entropy increase): a rise of 5% of the trained map's entropy. The
#:   model-independent input × noise control already rises by 0.013 [-0.001, 0.028] on the
#:   Fashion-MNIST CNN (doc/sanity_report.md), and a 28-bin histogram moves by a few percent when a
#:   few pixels cross a bin edge: a rise must clearly exceed what a map that ignores the model shows;
#: - faithfulness (area under the logit while deleting, in logit units): 5% of the image's logit drop
#:   from intact to fully deleted (mean over images), the range the area moves in; a fixed number of
#:   logits would mean something else for every model.
MIN_EFFECT = {"mprt": 0.05, "smprt": 0.05, "emprt": 0.05, "random_logit": 0.05, "faithfulness": 0.05}


@dataclass(frozen=True)
class Column:
    """One column of the table: which rows it reads, which way is better, which control it is judged against."""

    title: str
    check: str
    metric: str
    better: str            # "lower" or "higher"
    controls: tuple        # the controls the verdict is decided against (all must be beaten to pass)
    order: str = ""        # mprt only: the cascade order; the last (fully randomized) state is used
    detail: str = None     # input invariance: the baseline variant (None: the method's default rows)
    explanation: str = ""
    effect_unit: str = ""  # what δ is a fraction of: "" (the score itself), "logit drop" (faithfulness)


TABLE = (
    Column("randomization top-down", "mprt", "spearman_abs", "lower", (EDGE, INPUT_NOISE), order="top-down",
           explanation="Spearman (absolute maps) between the map of the trained model and of the fully randomized "
                       "model, reached top-down (output block first)"),
    Column("randomization bottom-up", "mprt", "spearman_abs", "lower", (EDGE, INPUT_NOISE), order="bottom-up",
           explanation="the same, reached bottom-up (input block first)"),
    Column("sMPRT", "smprt", "spearman_abs", "lower", (EDGE, INPUT_NOISE),
           explanation="Spearman (absolute maps) of noise-averaged maps, trained vs fully randomized model"),
    Column("eMPRT", "emprt", "entropy_increase", "higher", (EDGE,),
           explanation="relative increase of the entropy of the map's value histogram, trained to fully randomized"),
    Column("random logit", "random_logit", "ssim", "lower", (EDGE, INPUT_NOISE),
           explanation="SSIM between the map of the explained class and of a random other class"),
    Column("input invariance", "input_invariance", "relative_l1", "lower", (EDGE,), detail="default",
           explanation="relative L1 change of the map under a constant input shift compensated in the first layer"),
    Column("faithfulness", "faithfulness", "deletion_area", "lower", (RANDOM,),
           explanation="area under the explained logit while deleting pixels, most relevant first",
           effect_unit="logit drop"),
)

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

δ is set with `--min-effect` (defaults: 5% of the range each score moves in; δ = 0 gives the plain
"different from the control" test). The controls get verdicts by the same rules, which is the point: pure
noise passes every randomization check (Binder et al. 2023) and fails faithfulness; the edge map fails
every randomization check. Rows for the controls are judged against the same controls (a control against
itself fails). A pass only says "clearly better than the control in this run", never "correct".
"""


RULES = rules()


# ------------------------------------------------------------------------------------------- files
def write_rows(rows, path):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (repr(float(r[k])) if k == "value" else r[k]) for k in COLUMNS})
    return path


def _jsonable(obj):
    from .checks.jobs import jsonable
    return jsonable(obj)


def write_maps(maps, path):
    """{name: array} as a compressed .npz whose bytes depend on the arrays only (numpy's savez stamps
    each member with the current time)."""
    import zipfile

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in maps.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)
    return path


def write_check(out, check, result, seed, settings, image_ids):
    """CHECK.csv (tidy rows), CHECK.json (settings asked for and used), CHECK_maps.npz (maps for figures)."""
    written = [write_rows(result.rows, os.path.join(out, f"{check}.csv"))]
    if result.maps:
        written.append(write_maps(result.maps, os.path.join(out, f"{check}_maps.npz")))
    requested = _jsonable({"settings": settings or {}, "seed": seed, "image_ids": [int(i) for i in image_ids]})
    written.append(save_json({"requested": requested, "used": _jsonable(result.settings)},
                             os.path.join(out, f"{check}.json")))
    return written


# ---------------------------------------------------------------------------------------- judging
def column_values(rows, column, name):
    """{image id: score} of method or control ``name`` in ``column``."""
    rows = [r for r in rows if r["check"] == column.check and r["metric"] == column.metric and r["method"] == name]
    if column.order:
        rows = [r for r in rows if r["order"] == column.order]
        if rows:
            last = max(r["step_index"] for r in rows)
            rows = [r for r in rows if r["step_index"] == last]
    if column.detail == "default":
        rows = [r for r in rows if r["detail"] in ("", "zero baseline")]
    elif column.detail is not None:
        rows = [r for r in rows if r["detail"] == column.detail]
    return {r["image"]: r["value"] for r in rows}


@dataclass
class Cell:
    mean: float
    interval: tuple
    verdict: str
    n: int
    difference: tuple = (np.nan, np.nan)


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
    return Cell(float(v.mean()), interval, verdict, int(len(v)), (float(lo), float(hi)))


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
                cell = judged[0]
                cell.verdict = combine([j.verdict for j in judged])
                cells[(name, column.title)] = cell
    return cells


# ---------------------------------------------------------------------------------------- writing
def _fmt(x):
    if not np.isfinite(x):
        return "nan"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def format_cell(cell):
    if cell.n == 0:
        return "n/a"
    lo, hi = cell.interval
    return f"{_fmt(cell.mean)} [{_fmt(lo)}, {_fmt(hi)}] **{cell.verdict}**"


def label(name):
    from .methods import method_label
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
        cell = judge(values, control, column, bootstrap_indices(len(control), seed, "input invariance"))
        lo, hi = cell.interval
        lines.append(f"| {label(name)} | {detail or '—'} | {_fmt(cell.mean)} [{_fmt(lo)}, {_fmt(hi)}] | {cell.verdict} |")
    return "\n".join(lines)


def model_entropy_line(rows, seed):
    values = {r["image"]: r["value"] for r in rows if r["check"] == "emprt" and r["method"] == "model_output"
              and r["metric"] == "entropy_increase"}
    if not values:
        return ""
    v = np.array([values[i] for i in sorted(values)])
    v = v[np.isfinite(v)]
    if not len(v):
        return ""
    means = v[bootstrap_indices(len(v), seed, "model entropy")].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (f"The model's own output entropy (softmax over classes) changes by {_fmt(v.mean())} [{_fmt(lo)}, {_fmt(hi)}] "
            f"(relative) from the trained to the fully randomized model: "
            + ("the randomization changed the function." if v.mean() != 0 else "the function did not change."))


def _effect_note(column, deltas, min_effect):
    if column.title not in deltas:
        return ""
    fraction = {**MIN_EFFECT, **(min_effect or {})}[column.check]
    if column.effect_unit:
        return f", minimum effect δ = {fraction:g} × the mean {column.effect_unit} = {_fmt(deltas[column.title])}"
    return f", minimum effect δ = {_fmt(deltas[column.title])}"


def write_report(out, rows, names, settings, header, seed, figures_written, skipped=None, min_effect=None):
    cells = judge_all(rows, names, seed, min_effect=min_effect)
    deltas = min_effects(rows, min_effect)
    parts = [f"# Sanity-check report\n\n{header}\n",
             "## Verdicts\n",
             "Each cell: mean score over images [95% bootstrap interval] and the verdict.\n",
             markdown_table(cells, names, TABLE), "",
             "Columns:\n\n" + "\n".join(
                 f"- **{c.title}**: {c.explanation}; {c.better} is better; judged against the "
                 + " and the ".join(label(x).split(": ")[1] for x in c.controls)
                 + (" controls" if len(c.controls) > 1 else " control") + _effect_note(c, deltas, min_effect) + "."
                 for c in TABLE), "",
             rules(min_effect)]
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
    parts += ["## Settings\n", "```json", json.dumps(_jsonable(settings), indent=2, sort_keys=True), "```", ""]
    path = os.path.join(out, "report.md")
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("\n".join(parts))
    return path, cells


# ---------------------------------------------------------------------------------------- figures
def cascade_figure(rows, names, metric="spearman_abs"):
    import matplotlib.pyplot as plt

    from .figures import method_styles

    orders = sorted({r["order"] for r in rows if r["check"] == "mprt"}, reverse=True)
    controls = {EDGE: dict(color="black", ls="--", lw=2), RANDOM: dict(color="black", ls=":", lw=2),
                INPUT_NOISE: dict(color="gray", ls="-.", lw=2)}
    styles = {**method_styles([n for n in names if n not in controls]), **controls}
    fig, axes = plt.subplots(1, len(orders), figsize=(5.2 * len(orders), 4), squeeze=False, sharey=True)
    for ax, order in zip(axes[0], orders):
        sel = [r for r in rows if r["check"] == "mprt" and r["order"] == order and r["metric"] == metric]
        steps = sorted({(r["step_index"], r["state"]) for r in sel})
        for name in names:
            means = [np.mean([r["value"] for r in sel if r["method"] == name and r["step_index"] == k])
                     for k, _ in steps]
            style = styles[name]
            ax.plot(range(len(steps)), means, marker="o", ms=3, label=label(name), **style)
        ax.set_xticks(range(len(steps)))
        ax.set_xticklabels([s for _, s in steps], rotation=60, ha="right", fontsize=7)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_title(f"cascading randomization, {order}", fontsize=9)
        ax.set_ylabel("Spearman (absolute maps) to the trained model's map")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def map_pairs_figure(images, left, right, names, titles, suptitle):
    """Rows: methods and controls; per image: the input, then the two maps (absolute, normalized)."""
    import matplotlib.pyplot as plt
    from .metrics import abs_norm

    n = len(images)
    fig, axes = plt.subplots(len(names), 3 * n, figsize=(1.1 * 3 * n + 1.6, 1.1 * len(names) + 0.6), squeeze=False)
    for r, name in enumerate(names):
        for i in range(n):
            image = images[i]
            axes[r, 3 * i].imshow(image[..., 0] if image.shape[-1] == 1 else np.clip((image + 1) / 2, 0, 1),
                                  cmap="gray")
            for j, maps in enumerate((left, right), start=1):
                if name in maps:
                    axes[r, 3 * i + j].imshow(abs_norm(maps[name][i]), cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(label(name), rotation=0, ha="right", va="center", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for i in range(n):
        for j, t in enumerate(["input"] + list(titles[i])):
            axes[0, 3 * i + j].set_title(t, fontsize=6)
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def _split(maps, prefix):
    return {k.split("|", 1)[1]: v for k, v in maps.items() if k.startswith(prefix + "|")}


def write_figures(out, rows, names, all_maps):
    written = []
    if any(r["check"] == "mprt" for r in rows):
        written.append(save_figure(cascade_figure(rows, names), os.path.join(out, "cascading_curves.png")))
    maps = all_maps.get("random_logit") or {}
    if "images" in maps:
        titles = [(f"class {int(c)}", f"class {int(o)}") for c, o in zip(maps["classes"], maps["other_classes"])]
        written.append(save_figure(map_pairs_figure(maps["images"], _split(maps, "explained"), _split(maps, "other"),
                                                    names, titles, "random logit: explained class vs a random other class"),
                                   os.path.join(out, "random_logit_maps.png")))
    maps = all_maps.get("input_invariance") or {}
    if "images" in maps:
        shifted = _split(maps, "shifted")
        shifted_baseline = {f"{k}": v for k, v in _split(maps, "shifted baseline").items()}
        titles = [("model, x", "shifted, x + m")] * len(maps["images"])
        fig = map_pairs_figure(maps["images"], _split(maps, "original"), shifted, names, titles,
                               "input invariance (baseline methods: zero baseline)")
        written.append(save_figure(fig, os.path.join(out, "input_invariance_maps.png")))
        if shifted_baseline:
            fig = map_pairs_figure(maps["images"], _split(maps, "original"), shifted_baseline, list(shifted_baseline),
                                   titles, "input invariance, baseline shifted too")
            written.append(save_figure(fig, os.path.join(out, "input_invariance_shifted_baseline_maps.png")))
    return [os.path.basename(p) for p in written]


# ---------------------------------------------------------------------------------------- running
def check_settings(args, method_settings):
    """{check: settings} from the command line."""
    common = {"methods": args.methods, "method_settings": method_settings}
    return {
        "mprt": {**common, "randomization": args.randomization, "blocks": args.blocks},
        "smprt": {**common, "randomization": args.randomization, "nsamples": args.smprt_samples,
                  "noise_level": args.smprt_noise},
        "emprt": {**common, "randomization": args.randomization, "bins": args.bins},
        "random_logit": dict(common),
        "input_invariance": {**common, "shift": args.shift},
        "faithfulness": {**common, "replacement": args.replacement, "steps": args.deletion_steps},
    }


def write_outputs(out, merged, image_ids, seed=0, settings=None, header="", min_effect=None):
    """Every check's files, the figures and report.md from the merged tasks
    (:class:`~sanity_checks.checks.jobs.Merged`); returns (report path, cells). ``min_effect``: {check: δ}
    over :data:`MIN_EFFECT` (judging only: it changes no part, so a new δ re-judges a finished run)."""
    settings = settings or {}
    rows, used, all_maps = [], {}, {}
    with all_or_nothing(out):
        for check, result in merged.results.items():
            write_check(out, check, result, seed, settings.get(check), image_ids)
            rows += result.rows
            used[check], all_maps[check] = result.settings, result.maps
        methods = list(dict.fromkeys(r["method"] for r in rows
                                     if r["method"] not in CONTROLS and r["method"] != "model_output"))
        names = methods + list(CONTROLS)
        figures_written = write_figures(out, rows, names, all_maps)
        return write_report(out, rows, names, {"seed": seed, "images": [int(i) for i in image_ids], "checks": used,
                                               "min_effect": {**MIN_EFFECT, **(min_effect or {})}},
                            header, seed, figures_written, merged.skipped, min_effect)


def describe_run(merged, progress=print):
    if not progress:
        return
    for check, seconds in merged.seconds.items():
        progress(f"{check}: {seconds:.1f} s (summed over its tasks)")
    for check, reason in merged.skipped.items():
        progress(f"{check}: not run: {reason}")


def check_names(checks):
    checks = list(checks or CHECKS)
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise SanityCheckError(f"unknown check(s) {', '.join(unknown)}; valid: {', '.join(CHECKS)}")
    return checks


def parse_min_effect(items):
    """['0.1', 'faithfulness=0.05'] -> {check: δ}: a bare number for every check, CHECK=δ for one (later wins)."""
    out = {}
    for item in items or []:
        check, _, text = item.rpartition("=")
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value >= 0:
            raise SanityCheckError(f"--min-effect takes [CHECK=]DELTA with DELTA >= 0, got {item!r}")
        if check and check not in MIN_EFFECT:
            raise SanityCheckError(f"--min-effect: no minimum effect for {check!r}; valid: {', '.join(MIN_EFFECT)}")
        out.update({check: value} if check else dict.fromkeys(MIN_EFFECT, value))
    return out


def run_report(model, images, image_ids, out, checks=None, seed=0, settings=None, header="", progress=print,
               images_per_task=None, restart=False, min_effect=None):
    """Run the checks on a model and images of this process (serially, as tasks under ``out``/parts, resumed
    when present) and write every check's files, report.md and figures into ``out``; returns (report path, cells)."""
    from . import runs
    from .checks import jobs

    job = jobs.in_memory_job(model, images, image_ids, checks=check_names(checks), seed=seed, check_settings=settings,
                             images_per_task=images_per_task or jobs.IMAGES_PER_TASK)
    if restart:
        runs.forget(out)
    merged = runs.run(job, out, progress=bool(progress))
    describe_run(merged, progress)
    return write_outputs(out, merged, job.config["image_ids"], seed, settings, header, min_effect)


def main(argv=None):
    from . import loading, user_images
    from .checks import jobs
    from .cli.options import add_model_and_image_arguments, add_run_arguments, parse_override, prepare_threads, run_job
    from .experiments.inputs import test_images
    from .methods import QUICK_SETTINGS, method_settings as check_method_settings

    p = argparse.ArgumentParser(
        prog="sanity_report.py",
        description="Run the sanity checks (cascading randomization top-down and bottom-up, sMPRT, eMPRT, random "
                    "logit, input invariance, pixel-deletion faithfulness) with a uniform-noise and an edge-detector "
                    "control, and write report.md: one table, a verdict per method and check, rules included.")
    p.add_argument("--model", required=True,
                   help="a trained model folder (e.g. models/cnn_mnist), a Keras file (.keras, .h5) or SavedModel")
    p.add_argument("--out", required=True, help="folder for report.md, figures and each check's results")
    p.add_argument("--methods", nargs="+", default=None, help="method names (default: all the model supports)")
    p.add_argument("--images", type=int, default=10, help="how many test images, from the first (default 10)")
    p.add_argument("--checks", nargs="+", default=None, help=f"checks to run (default all: {', '.join(CHECKS)})")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--quick", action="store_true", help="few noise samples and IG steps (smoke test)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="METHOD.SETTING=VALUE",
                   help="change one method setting (repeatable; applied after --quick)")
    p.add_argument("--randomization", default="reinit", choices=["reinit", "truncated_normal", "uniform", "shuffle"],
                   help="how blocks are randomized (default reinit, as the original)")
    p.add_argument("--blocks", nargs="+", default=None,
                   help="randomization top-down/bottom-up: blocks to cascade through (default all; the last state "
                        "randomizes all of them)")
    p.add_argument("--smprt-samples", type=int, default=50, help="sMPRT: noisy copies per image (default 50)")
    p.add_argument("--smprt-noise", type=float, default=0.1,
                   help="sMPRT: noise std as a fraction of each image's range (default 0.1)")
    p.add_argument("--bins", default="sqrt", choices=["freedman-diaconis", "scott", "sturges", "rice", "sqrt"],
                   help="eMPRT: histogram bin rule (default sqrt)")
    p.add_argument("--shift", type=float, default=-1.0, help="input invariance: the constant shift m (default -1)")
    p.add_argument("--replacement", default="zero",
                   help="faithfulness: value of deleted pixels: zero, image_min, image_mean or a number (default zero)")
    p.add_argument("--deletion-steps", type=int, default=20, help="faithfulness: deletion steps (default 20)")
    p.add_argument("--min-effect", nargs="+", default=[], metavar="[CHECK=]DELTA",
                   help="minimum effect δ of a pass, as a fraction of the range of the check's score (default "
                        + ", ".join(f"{k} {v:g}" for k, v in MIN_EFFECT.items())
                        + "; faithfulness: of the mean logit drop); a bare number sets every check, "
                          "CHECK=DELTA one (e.g. --min-effect 0.1 faithfulness=0.05); 0: any difference")
    p.add_argument("--data-root", default="data", help="where data sets are found (default data/)")
    p.add_argument("--image-dir", default=None,
                   help="a folder of images (ImageNet models: default doc/data)")
    add_model_and_image_arguments(p, image_dir=False)
    add_run_arguments(p, images_per_task=jobs.IMAGES_PER_TASK)
    args = p.parse_args(argv)
    check_output_folder(args.out)  # before any work: a file in the way, a read-only file system
    checks = check_names(args.checks)
    parse_min_effect(args.min_effect)   # refused before any work

    method_settings = {m: dict(s) for m, s in (QUICK_SETTINGS if args.quick else {}).items()}
    for text in args.overrides:
        method, setting, value = parse_override(text)
        method_settings.setdefault(method, {})[setting] = value
        check_method_settings(method, method_settings[method])
    prepare_threads(args)
    model = loading.load_from_args(args)
    data, images, labels = test_images(model, args.images, args.data_root, args.image_dir,
                                       user=user_images.options(args))
    meta = getattr(model, "metadata", {})
    accuracy = meta.get("accuracy")
    accuracy = accuracy.get("test", "n/a") if isinstance(accuracy, dict) else (accuracy or "n/a")
    header = (f"Model `{args.model}` ({model.architecture.description}; data {meta.get('data')}, "
              f"labels {meta.get('labels', 'true')}, test accuracy {accuracy}"
              + ("; random weights" if meta.get("random_weights") else "") + f"); "
              f"{len(images)} test images (ids 0..{len(images) - 1}); seed {args.seed}"
              + ("; quick method settings (a smoke test)" if args.quick else "") + ".")
    settings = check_settings(args, method_settings or None)
    job = jobs.checks_job(model, args.model, (data, images, labels), checks=checks, seed=args.seed,
                          check_settings=settings, data_root=args.data_root, image_dir=args.image_dir,
                          images_per_task=args.images_per_task or jobs.IMAGES_PER_TASK,
                          loading=loading.options_from_args(args), user_images=user_images.options(args))
    merged = run_job(job, args)
    if merged is None:   # a shard that left parts missing
        return None
    describe_run(merged)
    path, cells = write_outputs(args.out, merged, job.config["image_ids"], args.seed,
                                {c: settings[c] for c in checks}, header, parse_min_effect(args.min_effect))
    print(f"wrote {path}")
    return path, cells
