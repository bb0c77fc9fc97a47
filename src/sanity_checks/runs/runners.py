"""Runners: how any process rebuilds a job's runner from a :class:`Work`, built once per process and
kept (the one cache of built runners), and one task run with it."""
import json
import threading
from dataclasses import dataclass, field

import numpy as np


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


#: The part entry holding a task's warnings, counted (:mod:`sanity_checks.tally`).
WARNINGS = "__warnings__"


def run_task(work, task):
    """Run one task where this is called (any backend's worker): {name: array}, with the task's warnings
    counted instead of printed (``WARNINGS``: they are said once per run, when the run merges)."""
    from .. import tally

    runner, lock = runner_for(work)
    with lock:   # a Dask worker with several threads must not share one session's state at once
        with tally.collecting() as counted:
            arrays = runner.run_task(task)
    out = {name: np.asarray(value) for name, value in arrays.items()}
    out[WARNINGS] = counted.to_array()
    return out
