"""What a check declares once (``SPEC = CheckSpec(...)`` at the end of its module), from which the
report's table, minimum effects, figures and command line are derived: a new check is one module
and one line in :data:`sanity_checks.checks.CHECKS`.

Plain data only: the checks do not import the report or the command line, which read these.
"""
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Column:
    """One column of the report's table: which rows it reads, which way is better, which control it is
    judged against."""

    title: str
    check: str
    metric: str
    better: str            # "lower" or "higher"
    controls: tuple        # the controls the verdict is decided against (all must be beaten to pass)
    order: str = ""        # mprt only: the cascade order; the last (fully randomized) state is used
    detail: str = None     # input invariance: the baseline variant (None: the method's default rows)
    explanation: str = ""
    effect_unit: str = ""  # what δ is a fraction of: "" (the score itself), "logit drop" (faithfulness)


@dataclass(frozen=True)
class Option:
    """A command-line option of the report that fills one setting of the checks that list it.

    ``help`` is a template: ``{default}`` is the setting's default (read from the check's DEFAULTS).
    Checks that share a flag list the same :class:`Option` (e.g. :data:`RANDOMIZATION`); the command
    line adds it once, and its default must be the same in every one of them.
    """

    flag: str
    setting: str
    help: str
    type: Optional[Callable] = None
    choices: Optional[tuple] = None
    nargs: Optional[str] = None

    @property
    def dest(self):
        """The attribute argparse stores it under (``--smprt-samples`` -> ``smprt_samples``)."""
        return self.flag.lstrip("-").replace("-", "_")

    def argparse_kwargs(self, default):
        kwargs = {"default": default, "help": self.help.format(default=default)}
        kwargs.update({k: v for k, v in (("type", self.type), ("choices", self.choices), ("nargs", self.nargs))
                       if v is not None})
        return kwargs


@dataclass(frozen=True)
class CascadeFigure:
    """The curves of the cascading randomization (mean similarity per state), from the check's rows."""

    file: str


@dataclass(frozen=True)
class GridFigure:
    """The paper's Figure 2 from the check's kept maps: per order, rows methods and controls, columns the
    input then the model states kept for the grid (``grid/ORDER/INDEX LABEL|name`` arrays and ``images``)."""

    file: str


@dataclass(frozen=True)
class MapFigure:
    """Maps side by side from the check's kept maps ("PREFIX|name" arrays and ``images``): per image the
    input, the ``left`` map and the ``right`` map of every method and control.

    ``titles``: the two maps' titles, templates formatted per image with the check's other kept
    per-image arrays (e.g. ``{classes}``). ``only_present``: rows only for the names that have a
    ``right`` map, and no figure when none has.
    """

    file: str
    left: str
    right: str
    titles: tuple
    suptitle: str
    only_present: bool = False


@dataclass(frozen=True)
class CheckSpec:
    """One check: ``run(model, images, image_ids, seed=0, settings=None) -> CheckResult`` and what the
    report needs to know about it.

    ``row_group``: the columns that name the loop around the image loop in ``run``'s rows: rows of tasks
    merge back into ``run``'s order by (these, image, order within the task) (see ``checks.jobs``).
    ``merge_settings``: the settings used by a run split into tasks, from each task's (default: the first's).
    ``min_effect``: the default minimum effect δ of a pass, as a fraction of the range the score moves in
    (see ``report.rules``); None for a check judged otherwise (input invariance: a fixed tolerance).
    ``options``: the report's command-line options that fill its settings.
    """

    name: str
    run: Callable
    row_group: tuple
    defaults: dict
    columns: tuple = ()
    min_effect: Optional[float] = None
    options: tuple = ()
    figures: tuple = ()
    merge_settings: Optional[Callable] = None

    def merged_settings(self, settings):
        """The settings used by the tasks of one run (their ``used`` settings, in task order)."""
        return self.merge_settings(settings) if self.merge_settings else settings[0]


#: Shared by the randomization checks (mprt, smprt, emprt): one flag, one setting.
RANDOMIZATION = Option("--randomization", "randomization",
                       "how blocks are randomized (default {default}, as the original)",
                       choices=("reinit", "truncated_normal", "uniform", "shuffle"))


def command_line_options(specs):
    """[(option, default)] of ``specs`` in order, each flag once; a flag declared differently by two
    checks, or with different defaults, is refused (ValueError)."""
    seen = {}
    for spec in specs:
        for option in spec.options:
            default = spec.defaults[option.setting]
            if option.flag in seen:
                if seen[option.flag] != (option, default):
                    raise ValueError(f"{spec.name} declares {option.flag} unlike an earlier check")
                continue
            seen[option.flag] = (option, default)
    return list(seen.values())


def settings_from_options(spec, args):
    """{setting: value} of ``spec``'s options from parsed arguments (an argparse namespace)."""
    return {option.setting: getattr(args, option.dest) for option in spec.options}


__all__ = ["CascadeFigure", "CheckSpec", "Column", "GridFigure", "MapFigure", "Option", "RANDOMIZATION", "command_line_options",
           "settings_from_options"]
