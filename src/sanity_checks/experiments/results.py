"""Tidy results: one row per image, method, model state and metric; summaries; files."""
import csv
import os
from collections import defaultdict

import numpy as np

from ..files import all_or_nothing, atomic_path, save_json

COLUMNS = ("image", "method", "step_index", "step", "metric", "value", "class_explained", "level")


def summarize(rows):
    """{method: {step: {metric: {"mean", "std", "n"}}}} over images (std: population, as np.std)."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["method"], r["step"], r["metric"])].append(r["value"])
    summary = defaultdict(lambda: defaultdict(dict))
    for (method, step, metric), values in groups.items():
        v = np.asarray(values, dtype=float)
        summary[method][step][metric] = {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}
    return {m: dict(s) for m, s in summary.items()}


def summary_frame(rows, metric, stat="mean"):
    """A pandas table of ``stat`` ('mean' or 'std') over images: rows methods, columns model states in order."""
    import pandas as pd

    frame = pd.DataFrame([r for r in rows if r["metric"] == metric])
    if frame.empty:
        return frame
    table = frame.pivot_table(index="method", columns="step", values="value",
                              aggfunc="mean" if stat == "mean" else (lambda v: float(np.std(v))))
    steps = frame.drop_duplicates("step").sort_values("step_index")["step"].tolist()
    methods = list(dict.fromkeys(frame["method"]))
    return table.loc[methods, steps]


def write_csv(rows, path, columns=COLUMNS):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{r[k]:.6g}" if isinstance(r.get(k), float) else r.get(k)) for k in columns})
    return path


def read_csv(path):
    """Rows back from :func:`write_csv` (values as float, indices as int)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["value"] = float(r["value"])
        for key in ("image", "step_index"):
            if r.get(key) not in (None, ""):
                r[key] = int(r[key])
    return rows


def write_all(out, rows, summary, figures):
    """results.csv, summary.json and figures (name -> matplotlib figure) into ``out``; returns paths.

    All or nothing: the files appear together, or (a full disk, say) none of them does.
    """
    from ..files import save_figure

    with all_or_nothing(out):
        written = [write_csv(rows, os.path.join(out, "results.csv")),
                   save_json(summary, os.path.join(out, "summary.json"))]
        written += [save_figure(fig, os.path.join(out, name)) for name, fig in figures.items()]
    return written
