"""Part files: each task's result written atomically to OUT/parts/KEY.npz, read back without
pickling, damaged ones set aside, and which tasks the valid parts cover."""
import contextlib
import json
import os
import sys
import zipfile

import numpy as np

from .tasks import Task

PARTS = "parts"
_TASK_KEY = "__task__"


def part_path(out, task):
    return os.path.join(out, PARTS, task.key + ".npz")


def write_part(out, task, arrays, run_id):
    """``arrays`` + the task's identity, atomically, as OUT/parts/KEY.npz (no pickled objects)."""
    from ..files import atomic_path

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
