"""A user's module of methods (``--method-module my_methods.py`` or ``my_package.methods``): imported only
because the user named it, its importing registers its methods (:func:`~.registry.register_method`).

The modules loaded in this process are recorded (:func:`records`: the path or dotted name and a sha256 of the
file) in a run's settings, so that every worker of the run (pool, shard, Dask) imports the same before it
builds its runner (:func:`load_recorded`), and resuming with another version of a module is refused like any
other changed setting.
"""
import hashlib
import importlib
import importlib.util
import os
import sys

from .base import MethodError

_LOADED = {}   # path or dotted name -> its record, in the order loaded


def _file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _is_path(name):
    return name.endswith(".py") or os.sep in name or os.path.isfile(name)


def load_method_module(name, expected_hash=None):
    """Import the module ``name`` (a .py file or a dotted module path) once per process; returns its record
    {"module": absolute path or dotted name, "sha256": the file's hash, "methods": the names it registered}. ``expected_hash``: refuse a file
    that is not that version (a worker of a run started with another one)."""
    if _is_path(name):
        path = os.path.abspath(name)
        if not os.path.isfile(path):
            raise MethodError(f"--method-module {name}: no such file")
        key, origin = path, path
    else:
        key = name
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as err:
            spec = None
            reason = str(err)
        else:
            reason = "not found on the Python path"
        if spec is None or not spec.origin or not os.path.isfile(spec.origin):
            raise MethodError(f"--method-module {name}: {reason} (give a .py file or an importable module)")
        origin = spec.origin
    record = {"module": key, "sha256": _file_hash(origin)}
    if expected_hash and record["sha256"] != expected_hash:
        raise MethodError(f"method module {key} changed since the run started (sha256 {record['sha256'][:12]}, "
                          f"the run's {expected_hash[:12]}); run it again with --restart or restore the module")
    if key in _LOADED:
        return _LOADED[key]
    from . import registry
    before = dict(registry.SPECS)
    try:
        if key == origin:
            module_name = "sanity_checks_user_methods_" + hashlib.sha256(path.encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(module_name, None)
                raise
        else:
            importlib.import_module(name)
    except MethodError:
        raise
    except Exception as err:
        raise MethodError(f"--method-module {name} failed to import: {type(err).__name__}: {err}") from None
    record["methods"] = [n for n, spec in registry.SPECS.items() if before.get(n) is not spec]
    record["specs"] = {n: registry.SPECS[n] for n in record["methods"]}
    _LOADED[key] = record
    return record


def records():
    """The modules loaded in this process, for a run's settings: [{"module", "sha256"}]."""
    return [{"module": r["module"], "sha256": r["sha256"]} for r in _LOADED.values()]


def unload_all():
    """Forget the modules loaded and unregister the methods they registered (tests, notebooks)."""
    from .registry import unregister_method
    for record in _LOADED.values():
        for name in record["methods"]:
            unregister_method(name)
    _LOADED.clear()


def run_config():
    """What a run's config carries of the method modules: {"method_modules": [...]}, or {} when none (a run
    without them keeps the settings it always had)."""
    loaded = records()
    return {"method_modules": loaded} if loaded else {}


def load_recorded(config):
    """Import, in a worker, the method modules a run's config records (each checked against its hash)."""
    for record in config.get("method_modules") or ():
        load_method_module(record["module"], record["sha256"])


def _strings(value):
    """Every string in a JSON-like value, dict keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _takes_default_methods(config):
    """Whether a run's config leaves a worker to choose the methods (a report check whose settings name none)."""
    if "methods" in config:
        return False
    settings = config.get("check_settings") or {}
    return any(not (settings.get(check) or {}).get("methods") for check in config.get("checks") or ())


def unseen_by_workers(config):
    """The methods a run of ``config`` (its Work config) may run that a fresh worker process would not know: those
    registered in this process only (in a notebook, in ``__main__``, by a module imported without
    :func:`load_method_module`), not by a method module the config records; named in the config, or run by default."""
    from . import registry

    recorded = {r["module"] for r in config.get("method_modules") or ()}
    known = {name: spec for record in _LOADED.values() if record["module"] in recorded
             for name, spec in record["specs"].items()}
    named = set(_strings(config))
    defaults = _takes_default_methods(config)
    return [name for name, spec in registry.SPECS.items()
            if not spec.builtin and known.get(name) is not spec and (name in named or (spec.default and defaults))]


def check_workers_know_methods(config, where):
    """Refuse, before any work, a run on fresh worker processes (``where``: a pool, Dask) whose methods they could
    not see (:func:`unseen_by_workers`), in one line naming the fix."""
    unseen = unseen_by_workers(config)
    if unseen:
        raise MethodError(
            f"method(s) {', '.join(unseen)} registered in this process only: the workers of {where} start fresh "
            f"processes that cannot see {'it' if len(unseen) == 1 else 'them'}; put "
            f"{'it' if len(unseen) == 1 else 'them'} in a module and pass --method-module FILE.py (from Python: "
            f"sanity_checks.methods.user_module.load_method_module('FILE.py') before the job is made), or run serially")
