"""Everything a report writes into its folder: each check's files (CHECK.csv, CHECK.json,
CHECK_maps.npz), then the figures, report.md and report.html, from the merged tasks of a run."""
import csv
import os

import numpy as np

from ..checks import COLUMNS
from ..checks.controls import CONTROLS
from ..files import all_or_nothing, atomic_path, save_json
from .figures import write_figures
from .html import write_html
from .markdown import _jsonable, write_report
from .rules import MIN_EFFECT


def write_rows(rows, path):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (repr(float(r[k])) if k == "value" else r[k]) for k in COLUMNS})
    return path


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
        written = write_report(out, rows, names, {"seed": seed, "images": [int(i) for i in image_ids], "checks": used,
                                                  "min_effect": {**MIN_EFFECT, **(min_effect or {})}},
                               header, seed, figures_written, merged.skipped, min_effect)
    write_html(out)   # from report.md and the figures, once they are in place
    return written
