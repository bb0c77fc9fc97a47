"""Long runs as tasks: parts on disk, resume, merge, and where the tasks run.

A runner describes its work as a :class:`Job`:

- ``job.settings``: everything that decides the results (model, checkpoint hash, methods, seed...),
  written once to ``OUT/run.json``; a later run on the same ``OUT`` with other settings is refused;
- ``job.tasks()``: :class:`Task` s, each one image or a group of images (or none, e.g. the per-state
  accuracy), named by a key that is also its part file's name;
- ``job.work``: a :class:`Work`, an importable factory and JSON settings from which any process
  (a pool worker, a Dask worker on another machine) builds the object whose ``run_task(task)``
  returns the task's result as named numpy arrays; built once per process and kept for all its tasks;
- ``job.merge(parts)``: the usual outputs (results.csv, summary.json, figures) from all parts.

:func:`run` skips the tasks whose part exists and is valid, sends the others to a backend, writes
each result atomically to ``OUT/parts/KEY.npz`` as it comes back, and merges once every part is
there. Backends share one small interface (``submit(task)``, ``as_completed()``): :class:`Serial`
(in this process), :class:`Pool` (``spawn`` worker processes), :class:`Dask` (a Dask cluster);
static shards (``shard=(K, N)``) run the K-th of every N tasks in this process. Runners never know
where their tasks ran.

Parts are ``.npz`` files read with ``allow_pickle=False``: a folder shared by many machines cannot
make the merging process run code. A part records its task and the run's id; a truncated or
unreadable part, or one of another run, is set aside (renamed ``*.damaged``) and its task recomputed.

This package imports no TensorFlow: pool workers set their thread counts before TensorFlow loads.

Modules (one idea each): ``tasks`` (:class:`Task`), ``runners`` (:class:`Work`, runners built once per
process), ``parts`` (part files), ``record`` (OUT/run.json and the identities settings carry),
``threads`` (TensorFlow threads per worker), ``backends`` (where tasks run), ``job`` (:class:`Job`,
:func:`run`, shards). Every public name is importable from ``sanity_checks.runs``; to patch one in
a test, patch the module that uses it (e.g. ``sanity_checks.runs.job.write_part``).
"""
from .backends import DASK_HINT, Dask, Pool, Serial, make_backend
from .errors import RunError
from .job import Job, describe_missing, parse_shard, run
from .parts import PARTS, covered, is_done, part_path, parts_by_image, read_part, scan_parts, write_part
from .record import MANIFEST, check_manifest, checkpoint_hash, forget, package_version, settings_id
from .runners import Work, remember, run_task, runner_for
from .tasks import Task, image_tasks
from .threads import cpu_count, default_threads, limit_threads, thread_environment

__all__ = ["DASK_HINT", "Dask", "Pool", "Serial", "make_backend", "RunError", "Job", "describe_missing",
           "parse_shard", "run", "PARTS", "covered", "is_done", "part_path", "parts_by_image", "read_part",
           "scan_parts", "write_part", "MANIFEST", "check_manifest", "checkpoint_hash", "forget",
           "package_version", "settings_id", "Work", "remember", "run_task", "runner_for", "Task",
           "image_tasks", "cpu_count", "default_threads", "limit_threads", "thread_environment"]
