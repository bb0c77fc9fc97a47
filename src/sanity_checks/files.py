"""Writing results: a file is either complete or absent, never half-written, and a run's files
appear together or not at all.

- :func:`atomic_path` / :func:`atomic_folder`: write into a temporary beside the target, rename it
  into place at the end. The temporary is created private (``mkstemp``/``mkdtemp``: 0600/0700); it
  gets the mode an ordinary new file or folder would get (0666/0777 minus the umask) before the
  rename, so a colleague in the same group can read results as with any other file.
- :func:`all_or_nothing`: the files of one run (results.csv, summary.json, figures) are renamed into
  place together when the block ends; if anything fails (a full disk at the third figure) none of
  them appears, and the output folder is removed again if the block created it.
- :func:`check_output_folder`: refuse, before any work, an output folder that cannot be created or
  written (a file in the way, a read-only file system).
- :func:`cache_lock`: one process at a time fills a shared cache (a quick model, a random Inception v3
  checkpoint); the others wait and then reuse what it wrote.

Every ``OSError`` while writing becomes an :class:`~sanity_checks.errors.OutputError` naming the file
and the reason, which the command-line scripts print on one line.
"""
import contextlib
import json
import os
import shutil
import tempfile
import threading

from .errors import OutputError

#: Renames deferred by an active :func:`all_or_nothing` block (one list per thread).
_pending = threading.local()


def umask():
    """The process's umask (read without changing it where /proc says it; else set and restored)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(err):
    return err.strerror or str(err) or type(err).__name__


def check_output_folder(path, flag="--out"):
    """Raise :class:`OutputError` unless ``path`` is, or can be created as, a folder we can write into.

    Checks only what the file system says now (a regular file in the way, a missing write or search
    permission, a read-only file system); it writes nothing. A full disk shows only when writing.
    """
    path = os.path.abspath(os.fspath(path))
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        what = "is" if probe == path else f"cannot be created: {probe} is"
        raise OutputError(f"{flag} {path} {what} a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only_file_system(probe) else "permission denied"
        raise OutputError(f"{flag} {path}: cannot write in {probe} ({reason})")


def _read_only_file_system(folder):
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error removed.

    Inside :func:`all_or_nothing` the rename waits for the end of that block.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{base}-", suffix=ext, dir=folder)
        os.close(fd)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
        pending = getattr(_pending, "renames", None)
        if pending is not None:
            pending.append((tmp, path))
        else:
            os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {path}: {_reason(err)}") from None
        raise


@contextlib.contextmanager
def all_or_nothing(folder=None):
    """Files written with :func:`atomic_path` inside the block appear together at its end, or none.

    ``folder``: the output folder, created if missing (and removed again on failure if this block
    created it and nothing else was put there). Nested blocks join the outermost one.
    """
    if getattr(_pending, "renames", None) is not None:
        if folder is not None:
            _make_folders(folder)
        yield
        return
    created = _make_folders(folder) if folder is not None else []
    _pending.renames = renames = []
    done = 0
    try:
        yield
        _pending.renames = None
        for tmp, path in renames:
            try:
                os.replace(tmp, path)
            except OSError as err:
                raise OutputError(f"cannot write {path}: {_reason(err)}") from None
            done += 1
    except BaseException:
        for tmp, _ in renames[done:]:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        for made in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(made)   # only if it is empty
        raise
    finally:
        _pending.renames = None


def _make_folders(folder):
    """Create ``folder`` and missing parents; return the ones created, outermost first."""
    folder = os.path.abspath(os.fspath(folder))
    missing = []
    probe = folder
    while not os.path.exists(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        if isinstance(err, FileExistsError) or os.path.exists(folder) and not os.path.isdir(folder):
            raise OutputError(f"cannot create folder {folder}: a file of that name is in the way") from None
        raise OutputError(f"cannot create folder {folder}: {_reason(err)}") from None
    return list(reversed(missing))


@contextlib.contextmanager
def atomic_folder(path):
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path`` (an existing
    folder is moved aside first, then removed), on error it is removed and ``path`` is untouched.

    A regular file at ``path`` (or in place of a parent folder) is refused, never replaced.
    """
    path = os.path.abspath(os.fspath(path))
    parent, name = os.path.split(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"cannot write folder {path}: a file of that name is in the way")
    _make_folders(parent)
    try:
        tmp = tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=parent)
        os.chmod(tmp, 0o777 & ~umask())
    except OSError as err:
        raise OutputError(f"cannot write folder {path}: {_reason(err)}") from None
    try:
        yield tmp
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=f".old-{name}-", dir=parent)
            os.rmdir(old)
            os.rename(path, old)
        os.rename(tmp, path)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise OutputError(f"cannot write folder {path}: {_reason(err)}") from None
        raise


@contextlib.contextmanager
def cache_lock(path):
    """Hold an exclusive lock on ``path + '.lock'`` for the block (``fcntl.flock``; where there is no
    ``fcntl``, no lock). Two processes that find a cache missing (two notebooks, two test workers)
    would otherwise both write it, and the second could replace files the first is reading."""
    try:
        import fcntl
    except ImportError:     # not a POSIX system: no lock
        yield
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.abspath(path) + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_json(obj, path):
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_to_builtin)
        f.write("\n")
    return path


def save_figure(fig, path, dpi=120):
    import matplotlib.pyplot as plt
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=os.path.splitext(path)[1][1:] or "png")
    finally:
        plt.close(fig)
    return path


def _to_builtin(value):
    """numpy scalars and arrays in JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


__all__ = ["atomic_path", "atomic_folder", "all_or_nothing", "check_output_folder", "save_json", "save_figure",
           "umask"]
