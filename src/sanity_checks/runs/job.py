"""The run of a job: the tasks not done yet sent to a backend (all, or a static shard of them), their
parts written as they come back, and the merge once every part is there."""
import json
import sys

from .. import progress as progress_module, tally
from .backends import Serial
from .errors import RunError
from .parts import covered, is_done, scan_parts, write_part
from .record import check_manifest, settings_id
from .runners import WARNINGS, Work


def parse_shard(text):
    """'K/N' -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise RunError(f"--shard takes K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise RunError(f"--shard K/N needs 1 <= K <= N, got {text}")
    return k, n


class Job:
    """What a runner provides (see sanity_checks.runs). Subclasses set ``settings`` and ``work``."""

    settings: dict = {}
    work: Work = None

    def tasks(self):
        raise NotImplementedError

    def merge(self, parts):
        raise NotImplementedError


def describe_missing(tasks, limit=6):
    names = [t.key for t in tasks]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def run(job, out, backend=None, shard=None, merge_only=False, progress=True):
    """Run ``job``'s missing tasks on ``backend`` (default serial), write parts, merge.

    ``progress``: a bar over the tasks and, for tasks run in this process, over the model states inside
    each (only where stderr is a terminal). The tasks' warnings are said once each, with their counts,
    after the merge, and kept as ``job.warnings`` ({kind: counts}, :mod:`sanity_checks.tally`).

    ``shard``: (K, N): only every N-th task from the K-th (tasks in a fixed order); the shard that
    finds every part present merges, the others say what is missing and return None.
    ``merge_only``: run nothing; merge, or raise :class:`RunError` naming the missing parts.
    Returns ``job.merge(parts)``, or None when parts are missing.
    """
    from tqdm.auto import tqdm

    check_manifest(out, job.settings)
    run_id = settings_id(json.loads(json.dumps(job.settings, sort_keys=True, default=str)))
    tasks = job.tasks()
    parts = scan_parts(out, run_id)
    coverage = covered(parts)
    if merge_only:
        mine = []
    elif shard:
        k, n = shard
        mine = tasks[k - 1::n]
    else:
        mine = tasks
    todo = [t for t in mine if not is_done(t, parts, coverage)]
    shown = progress_module.enabled()
    progress_module.enable(progress_module.wanted(progress))
    if todo:
        backend = backend or Serial(job.work)
        bar = tqdm(total=len(mine), initial=len(mine) - len(todo), unit="task", disable=not progress_module.enabled(),
                   desc=f"tasks ({backend.name})" + (f", shard {shard[0]}/{shard[1]}" if shard else ""))
        try:
            for task in todo:
                backend.submit(task)
            for task, arrays in backend.as_completed():
                write_part(out, task, arrays, run_id)
                parts[task.key] = (task, arrays)
                bar.update(1)
        finally:
            bar.close()
            backend.close()
            progress_module.enable(shown)
    elif backend is not None:
        backend.close()
    progress_module.enable(shown)
    if shard or merge_only:   # other processes may have written parts meanwhile
        parts = scan_parts(out, run_id, warn=False)
    coverage = covered(parts)
    missing = [t for t in tasks if not is_done(t, parts, coverage)]
    if missing:
        message = f"{len(missing)} of {len(tasks)} parts missing in {out}: {describe_missing(missing)}"
        if merge_only:
            raise RunError(message)
        print(f"{message}; the last shard to finish merges, or run again with --merge", file=sys.stderr)
        return None
    merged = job.merge(parts)
    counted = tally.merged(arrays.get(WARNINGS) for _, arrays in parts.values())
    for line in counted.lines():
        print(f"warning: {line}", file=sys.stderr)
    job.warnings = counted.summary()
    return merged
