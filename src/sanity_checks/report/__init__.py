"""One report with a verdict per method: every check of :mod:`sanity_checks.checks`, each cell a
score with a 95% bootstrap interval over images and a verdict decided against the controls
measured in the same run.

The checks run as the tasks of a :mod:`~sanity_checks.runs` job (:mod:`sanity_checks.checks.jobs`:
groups of images, parts under OUT/parts, resume, pool, shards, Dask); this package writes each
check's merged tidy results, formats and judges them. ``src/sanity_report.py`` is its command line
(:mod:`sanity_checks.cli.report`).

Modules: ``rules`` (the table's columns and minimum effects δ, from the checks' specs; the verdict rules),
``judging`` (bootstrap intervals and verdicts), ``markdown`` (report.md), ``html`` (report.html: report.md as
one self-contained page), ``figures`` (the report's figures), ``outputs`` (every file a report writes, from
the merged tasks), ``run`` (running the checks in this process, and what a run is asked: checks, settings, δ).
"""
from ..checks import CHECKS, COLUMNS
from ..checks.controls import CONTROLS, EDGE, INPUT_NOISE, RANDOM
from .figures import cascade_figure, grid_figure, map_pairs_figure, write_figures
from .html import write_html
from .judging import Cell, bootstrap_indices, column_values, combine, judge, judge_all, logit_drop, min_effects
from .markdown import format_cell, input_invariance_table, label, markdown_table, model_entropy_line, write_report
from .outputs import write_check, write_maps, write_outputs, write_rows
from .rules import BOOTSTRAP_RESAMPLES, INVARIANCE_TOLERANCE, MIN_EFFECT, RULES, TABLE, Column, rules
from .run import check_names, check_settings, describe_run, parse_min_effect, run_report

__all__ = ["CHECKS", "COLUMNS", "CONTROLS", "EDGE", "INPUT_NOISE", "RANDOM",
           "cascade_figure", "grid_figure", "map_pairs_figure", "write_figures", "write_html",
           "Cell", "bootstrap_indices", "column_values", "combine", "judge", "judge_all", "logit_drop", "min_effects",
           "format_cell", "input_invariance_table", "label", "markdown_table", "model_entropy_line", "write_report",
           "write_check", "write_maps", "write_outputs", "write_rows",
           "BOOTSTRAP_RESAMPLES", "INVARIANCE_TOLERANCE", "MIN_EFFECT", "RULES", "TABLE", "Column", "rules",
           "check_names", "check_settings", "describe_run", "parse_min_effect", "run_report"]
