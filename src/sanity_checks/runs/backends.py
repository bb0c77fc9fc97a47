"""Backends: where tasks run, behind one interface (``submit(task)``, ``as_completed()``, ``close()``):
:class:`Serial` (this process), :class:`Pool` (``spawn`` worker processes), :class:`Dask` (a cluster)."""
import os
import sys
import threading
import time

from .errors import RunError
from .runners import run_task
from .threads import _environment, default_threads, thread_environment

DASK_HINT = "pip install -r requirements-dask.txt (or pip install '.[dask]')"


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


def _check_workers_know_methods(work, where):
    """A method registered in this process only (a notebook's) is refused before a worker starts."""
    from ..methods.user_module import check_workers_know_methods
    check_workers_know_methods(work.config, where)


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
        _check_workers_know_methods(work, "a pool (--workers)")
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

    def __init__(self, work, address, threads=None, local_directory=None, timeout=30.0):
        _check_workers_know_methods(work, "Dask (--dask)")
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
            try:
                self.client = Client(address, timeout=float(timeout))
            except (OSError, TimeoutError) as err:
                raise RunError(f"no Dask scheduler answered at {address} within {float(timeout):g} s "
                               f"({type(err).__name__}); start one there (`dask scheduler`, then `dask worker "
                               f"{address}` on each machine), wait longer with --dask-timeout, or run a local "
                               f"cluster with --dask local:N") from None

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


def make_backend(work, workers=1, threads=None, dask=None, dask_timeout=30.0):
    """The backend a command asked for: Dask if ``dask`` (a scheduler that does not answer within
    ``dask_timeout`` seconds is one line), a pool if ``workers`` > 1, else serial."""
    if dask:
        return Dask(work, dask, threads, timeout=dask_timeout)
    if int(workers) < 1:
        raise RunError(f"--workers must be >= 1, got {workers}")
    return Pool(work, workers, threads) if int(workers) > 1 else Serial(work)
