"""The run record: the settings of a run in OUT/run.json and their id, the refusal of a run with
other settings, forgetting a run, and the identities settings carry (checkpoint hash, version)."""
import contextlib
import hashlib
import json
import os

from .errors import RunError
from .parts import PARTS

MANIFEST = "run.json"


def settings_id(settings):
    """A short hash of the run's settings: every part carries it."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_manifest(out, settings):
    """Record ``settings`` in OUT/run.json, or refuse (one line) if OUT holds a run with others."""
    from ..files import save_json

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
