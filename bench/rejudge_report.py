"""Re-judge a finished report folder from its per-check CSVs with today's rules, without the model or its
parts: prints each cell's verdict and, for the inconclusive ones, the images that would decide them at the
observed spread (as report.md now says). For reports written before a rule changed (e.g. the committed
``doc/report/cnn_fashion``, whose model is gone).

Usage (from the repo root)::

    python bench/rejudge_report.py doc/report/cnn_fashion
"""
import argparse
import csv
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from sanity_checks.checks.controls import CONTROLS  # noqa: E402
from sanity_checks.report import TABLE, judge_all, label  # noqa: E402
from sanity_checks.report.markdown import decide_lines, format_cell  # noqa: E402


def read_rows(folder):
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                r.update(image=int(r["image"]), step_index=int(r["step_index"]), value=float(r["value"]))
                rows.append(r)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a report folder (its CHECK.csv files)")
    p.add_argument("--seed", type=int, default=0, help="the report's seed (default 0)")
    args = p.parse_args(argv)
    rows = read_rows(args.folder)
    methods = [m for m in dict.fromkeys(r["method"] for r in rows) if m not in CONTROLS and m != "model_output"]
    names = methods + list(CONTROLS)
    cells = judge_all(rows, names, args.seed)
    for column in TABLE:
        for name in names:
            if (name, column.title) in cells:
                print(f"{column.title} | {label(name)} | {format_cell(cells[(name, column.title)])}")
    print("\n".join(decide_lines(cells, names)))


if __name__ == "__main__":
    main()
