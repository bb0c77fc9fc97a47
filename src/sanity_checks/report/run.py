"""Running the report in this process: the checks, settings and minimum effects asked for, the run of
the checks as tasks under OUT/parts, and its log."""
from ..checks import CHECKS
from ..checks.spec import settings_from_options
from ..errors import SanityCheckError
from .about import describe_model
from .outputs import write_outputs
from .rules import MIN_EFFECT


def check_settings(args, method_settings):
    """{check: settings} from the command line: the methods, and each check's settings from its spec's options."""
    common = {"methods": args.methods, "method_settings": method_settings}
    return {name: {**common, **settings_from_options(spec, args)} for name, spec in CHECKS.items()}


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
    from .. import runs
    from ..checks import jobs

    job = jobs.in_memory_job(model, images, image_ids, checks=check_names(checks), seed=seed, check_settings=settings,
                             images_per_task=images_per_task or jobs.IMAGES_PER_TASK)
    if restart:
        runs.forget(out)
    merged = runs.run(job, out, progress=bool(progress))
    describe_run(merged, progress)
    about = describe_model(model, model.architecture.name, job.config["image_ids"], seed)
    return write_outputs(out, merged, job.config["image_ids"], seed, settings, header, min_effect, about)
