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

This module imports no TensorFlow: pool workers set their thread counts before TensorFlow loads.
"""
import contextlib
import hashlib
import json
import os
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .errors import SanityCheckError

PARTS = "parts"
MANIFEST = "run.json"
_TASK_KEY = "__task__"
DASK_HINT = "pip install -r requirements-dask.txt (or pip install '.[dask]')"


class RunError(SanityCheckError):
    """A run that cannot go on as asked: other settings in OUT, missing parts, a bad --shard."""


# ---------------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """One unit of work. ``key`` names its part file; ``images``: the image ids it covers."""

    key: str
    images: tuple = ()
    kind: str = "images"


def image_tasks(image_ids, per_task, kind="images"):
    """Tasks over ``image_ids`` in groups of ``per_task`` consecutive ids, keyed by first and last id."""
    if int(per_task) < 1:
        raise RunError(f"--images-per-task must be >= 1, got {per_task}")
    ids = [int(i) for i in image_ids]
    groups = [tuple(ids[i:i + per_task]) for i in range(0, len(ids), int(per_task))]
    return [Task(f"{kind}-{g[0]:06d}-{g[-1]:06d}", g, kind) for g in groups]


@dataclass(frozen=True)
class Work:
    """How any process rebuilds a runner: ``factory`` ('module:function') called with ``config``
    (JSON-able). Both travel to workers, so neither may hold a model or a session."""

    factory: str
    config: dict = field(default_factory=dict)

    def cache_key(self):
        return self.factory + "\n" + json.dumps(self.config, sort_keys=True)


_RUNNERS = {}           # per process: Work cache key -> (runner, lock)
_RUNNERS_LOCK = threading.Lock()


def remember(work, runner):
    """Use ``runner`` (built here already, e.g. around the model the command loaded) for ``work``."""
    with _RUNNERS_LOCK:
        _RUNNERS[work.cache_key()] = (runner, threading.Lock())


def runner_for(work):
    """The runner of ``work`` in this process, built on first use and kept (graph built once)."""
    import importlib

    key = work.cache_key()
    with _RUNNERS_LOCK:
        if key not in _RUNNERS:
            module, name = work.factory.split(":")
            _RUNNERS[key] = (getattr(importlib.import_module(module), name)(work.config), threading.Lock())
        return _RUNNERS[key]


def run_task(work, task):
    """Run one task where this is called (any backend's worker): {name: array}."""
    runner, lock = runner_for(work)
    with lock:   # a Dask worker with several threads must not share one session's state at once
        arrays = runner.run_task(task)
    return {name: np.asarray(value) for name, value in arrays.items()}


# ---------------------------------------------------------------------------------------- parts
def settings_id(settings):
    """A short hash of the run's settings: every part carries it."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def part_path(out, task):
    return os.path.join(out, PARTS, task.key + ".npz")


def write_part(out, task, arrays, run_id):
    """``arrays`` + the task's identity, atomically, as OUT/parts/KEY.npz (no pickled objects)."""
    from .files import atomic_path

    meta = json.dumps({"key": task.key, "kind": task.kind, "images": list(task.images), "run": run_id})
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    if any(value.dtype == object for value in payload.values()):
        raise TypeError(f"part {task.key}: object arrays cannot be stored without pickling")
    payload[_TASK_KEY] = np.frombuffer(meta.encode(), dtype=np.uint8)
    path = part_path(out, task)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
    return path


def read_part(path, run_id):
    """(task, arrays) of a part file, or None when it is damaged, unreadable or of another run."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}   # reads every member: CRCs checked
        meta = json.loads(bytes(arrays.pop(_TASK_KEY)).decode())
        task = Task(meta["key"], tuple(int(i) for i in meta["images"]), meta["kind"])
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile):
        return None
    if meta.get("run") != run_id or task.key != os.path.basename(path)[:-len(".npz")]:
        return None
    return task, arrays


def scan_parts(out, run_id, warn=True):
    """{key: (task, arrays)} of the valid parts in OUT/parts; damaged ones are renamed aside."""
    folder = os.path.join(out, PARTS)
    parts = {}
    if not os.path.isdir(folder):
        return parts
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".npz") or name.startswith("."):
            continue
        path = os.path.join(folder, name)
        found = read_part(path, run_id)
        if found is None:
            with contextlib.suppress(OSError):
                os.replace(path, path + ".damaged")
            if warn:
                print(f"note: part {name} is damaged or of another run; it is set aside and recomputed",
                      file=sys.stderr)
            continue
        parts[found[0].key] = found
    return parts


def covered(parts):
    """{kind: set of image ids} the parts cover."""
    out = {}
    for task, _ in parts.values():
        out.setdefault(task.kind, set()).update(task.images)
    return out


def is_done(task, parts, coverage):
    """A task is done when its own part exists, or (any grouping) other parts cover all its images."""
    if task.key in parts:
        return True
    return bool(task.images) and set(task.images) <= coverage.get(task.kind, set())


def parts_by_image(parts, kind="images"):
    """{image id: (arrays, index of the image in them)} over the parts of ``kind`` (first part wins)."""
    out = {}
    for key in sorted(parts):
        task, arrays = parts[key]
        if task.kind == kind:
            for index, image in enumerate(task.images):
                out.setdefault(image, (arrays, index))
    return out


# ---------------------------------------------------------------------------------------- manifest
def check_manifest(out, settings):
    """Record ``settings`` in OUT/run.json, or refuse (one line) if OUT holds a run with others."""
    from .files import save_json

    path = os.path.join(out, MANIFEST)
    normal = json.loads(json.dumps(settings, sort_keys=True, default=str))
    if os.path.exists(path):
        try:
            with open(path) as f:
                recorded = json.load(f)["settings"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RunError(f"{path} is unreadable; remove {out} to start the run over") from None
        for key in sorted(set(recorded) | set(normal)):
            if recorded.get(key) != normal.get(key):
                raise RunError(f"{out} holds a run with another {key} ({_short(recorded.get(key))} there, "
                               f"{_short(normal.get(key))} now); use another --out, or remove {out} to start over")
        return path
    os.makedirs(out, exist_ok=True)
    return save_json({"settings": normal, "run": settings_id(normal)}, path)


def forget(out):
    """Remove a run's record and parts from ``out`` (its other files stay until they are rewritten)."""
    import shutil
    shutil.rmtree(os.path.join(out, PARTS), ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(out, MANIFEST))


def _short(value, width=60):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[:width - 3] + "..."


def checkpoint_hash(folder):
    """sha256 over the names and contents of a model's files: a folder's top-level files (checkpoint and
    metadata), or one file (a Keras .keras / .h5)."""
    digest = hashlib.sha256()
    if os.path.isfile(folder):
        folder, names = os.path.split(os.path.abspath(folder))
        names = [names]
    else:
        names = sorted(os.listdir(folder))
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or name.startswith("."):
            continue
        digest.update(name.encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def package_version():
    try:
        from importlib.metadata import version
        return version("sanity-checks")
    except Exception:   # running from a source tree without an install
        return "unknown"


# ---------------------------------------------------------------------------------------- threads
def cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_threads(workers):
    """TensorFlow threads per worker: the cores shared out, at least one."""
    return max(1, cpu_count() // max(1, int(workers)))


def thread_environment(threads):
    return {"TF_NUM_INTRAOP_THREADS": str(int(threads)), "TF_NUM_INTEROP_THREADS": str(int(threads))}


def limit_threads(threads):
    """Make this process's TensorFlow use ``threads`` threads; only works before its first session."""
    os.environ.update(thread_environment(threads))
    if "tensorflow" in sys.modules:
        import tensorflow as tf
        with contextlib.suppress(RuntimeError):   # too late: sessions exist (the env still reaches children)
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))


@contextlib.contextmanager
def _environment(values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------------- backends
class Serial:
    """Tasks run one after the other in this process, with the runner it already holds."""

    name = "serial"

    def __init__(self, work):
        self.work, self.pending = work, []

    def submit(self, task):
        self.pending.append(task)

    def as_completed(self):
        while self.pending:
            task = self.pending.pop(0)
            yield task, run_task(self.work, task)

    def close(self):
        self.pending = []


def _watch_parent(parent):
    """Pool workers exit when the process that started them is gone (SIGKILL leaves no cleanup)."""
    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)
    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def _pool_worker_init(parent, environment):
    os.environ.update(environment)   # before this worker's first TensorFlow session
    _watch_parent(parent)


class Pool:
    """A ``spawn`` process pool (fork after TensorFlow ran a session hangs the child).

    Each worker gets ``threads`` TensorFlow threads (set before TensorFlow loads in it), builds its
    runner once and keeps it. A worker that dies breaks the whole pool: it is rebuilt and the tasks
    not yet back are submitted again (at most ``max_restarts`` times).
    """

    name = "pool"

    def __init__(self, work, workers, threads=None, max_restarts=5):
        self.work, self.workers = work, int(workers)
        self.threads = threads or default_threads(workers)
        self.max_restarts, self.restarts = max_restarts, 0
        self.futures = {}
        self.executor = None

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        environment = thread_environment(self.threads)
        with _environment(environment):   # spawned interpreters inherit it before importing anything
            self.executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                initializer=_pool_worker_init, initargs=(os.getpid(), environment))

    def submit(self, task):
        if self.executor is None:
            self._start()
        with _environment(thread_environment(self.threads)):
            self.futures[self.executor.submit(run_task, self.work, task)] = task

    def as_completed(self):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        while self.futures:
            done, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task = self.futures.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    self.futures[future] = task   # resubmitted below with the others
                    broken = True
                    continue
                yield task, result
            if broken:
                self._restart()

    def _restart(self):
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise RunError(f"pool workers died {self.restarts} times; giving up (out of memory?)")
        tasks = list(self.futures.values())
        print(f"note: a pool worker died; restarting the pool and resubmitting {len(tasks)} task(s)",
              file=sys.stderr)
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor, self.futures = None, {}
        for task in tasks:
            self.submit(task)

    def close(self):
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


class Dask:
    """Tasks sent to a Dask scheduler (``address``), or to a LocalCluster of N workers ('local:N').

    Dask re-runs a task whose worker died. Results come back to this process, which writes the
    parts: the workers need no shared folder.
    """

    name = "dask"

    def __init__(self, work, address, threads=None, local_directory=None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RunError(f"--dask needs Dask (not installed): {DASK_HINT}") from None
        self.work, self.cluster, self.futures = work, None, {}
        if address.startswith("local:"):
            try:
                workers = int(address.split(":", 1)[1])
            except ValueError:
                raise RunError(f"--dask local:N takes a number of workers, got {address!r}") from None
            threads = threads or default_threads(workers)
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, env=thread_environment(threads),
                                        local_directory=local_directory)
            self.client = Client(self.cluster)
        else:
            self.client = Client(address)

    def submit(self, task):
        future = self.client.submit(run_task, self.work, task, pure=False, key=f"{task.key}-{time.time_ns()}")
        self.futures[future] = task

    def as_completed(self):
        from distributed import as_completed

        for future in as_completed(list(self.futures)):
            task = self.futures.pop(future)
            yield task, future.result()

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_backend(work, workers=1, threads=None, dask=None):
    """The backend a command asked for: Dask if ``dask``, a pool if ``workers`` > 1, else serial."""
    if dask:
        return Dask(work, dask, threads)
    if int(workers) < 1:
        raise RunError(f"--workers must be >= 1, got {workers}")
    return Pool(work, workers, threads) if int(workers) > 1 else Serial(work)


def parse_shard(text):
    """'K/N' -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise RunError(f"--shard takes K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise RunError(f"--shard K/N needs 1 <= K <= N, got {text}")
    return k, n


# ---------------------------------------------------------------------------------------- the run
class Job:
    """What a runner provides (see the module docstring). Subclasses set ``settings`` and ``work``."""

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
    if todo:
        backend = backend or Serial(job.work)
        bar = tqdm(total=len(mine), initial=len(mine) - len(todo), unit="task", disable=not progress,
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
    elif backend is not None:
        backend.close()
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
    return job.merge(parts)
