"""Warnings said once per run, with their counts, instead of once per model state.

A run goes through tens of model states per task; a method whose maps are all zero would say so at
every one (hundreds of identical lines with their source lines). While a task runs inside
:func:`collecting`, warnings are counted instead of printed, and degenerate maps are counted with the
state and the images they occurred at: :func:`state` is told which model state the loop is at
(``Randomizer.through``), :func:`masks` sees every method's maps (``compute_masks``). A task's
:class:`Tally` travels with its results (:meth:`Tally.to_array`); the run merges those of all its
tasks (:func:`merged`) and says each kind once (:meth:`Tally.lines`):
``GradCAM: all-zero maps at 87 of 95 model states, images 0-1``. Outside :func:`collecting` nothing
changes: warnings are printed as usual.
"""
import contextlib
import json
import re
import warnings

import numpy as np

_current = None   # the Tally being collected in this process (a task runs one at a time per runner)


class Tally:
    """Kinds of warnings, each with the model states and images it occurred at."""

    def __init__(self):
        self.states = set()     # every model state gone through ("order/strategy/index")
        self.kinds = {}         # kind -> {"states": set, "images": set, "elsewhere": int}
        self.at = None          # the current state, None outside a loop over states

    def add(self, kind, images=()):
        """One occurrence of ``kind`` at the current state, for ``images`` (ids; kept for states only:
        elsewhere a check may name noisy copies of an image by ids of its own)."""
        entry = self.kinds.setdefault(kind, {"states": set(), "images": set(), "elsewhere": 0})
        if self.at is None:
            entry["elsewhere"] += 1
        else:
            entry["states"].add(self.at)
            entry["images"].update(int(i) for i in images)

    def to_json(self):
        return {"states": sorted(self.states),
                "kinds": {k: {"states": sorted(v["states"]), "images": sorted(v["images"]),
                              "elsewhere": v["elsewhere"]} for k, v in self.kinds.items()}}

    def to_array(self):
        """The tally as uint8 JSON text, storable in a part file without pickling."""
        return np.frombuffer(json.dumps(self.to_json(), sort_keys=True).encode(), dtype=np.uint8)

    def update(self, data):
        """Add another tally's :meth:`to_json` (or :meth:`to_array`) into this one."""
        if isinstance(data, np.ndarray):
            data = json.loads(bytes(np.asarray(data, dtype=np.uint8)).decode())
        self.states.update(data["states"])
        for kind, v in data["kinds"].items():
            entry = self.kinds.setdefault(kind, {"states": set(), "images": set(), "elsewhere": 0})
            entry["states"].update(v["states"])
            entry["images"].update(v["images"])
            entry["elsewhere"] += v["elsewhere"]
        return self

    def summary(self):
        """{kind: {"states", "of_states", "images", "elsewhere"}}: what summary.json records."""
        return {kind: {"states": len(v["states"]), "of_states": len(self.states), "images": sorted(v["images"]),
                       "elsewhere": v["elsewhere"]} for kind, v in sorted(self.kinds.items())}

    def lines(self):
        """One line per kind of warning."""
        out = []
        for kind, v in self.summary().items():
            where = []
            if v["states"]:
                where.append(f"at {v['states']} of {v['of_states']} model states")
            if v["elsewhere"]:
                where.append(f"{v['elsewhere']} time{'s' if v['elsewhere'] > 1 else ''}"
                             + (" elsewhere" if v["states"] else ""))
            if v["images"]:
                where.append(f"image{'s' if len(v['images']) > 1 else ''} {_ranges(v['images'])}")
            said = kind.split(":")[0].endswith("Warning")   # a warning's own text: counts in parentheses
            out.append(f"{kind} ({', '.join(where)})" if said else f"{kind} {', '.join(where)}")
        return out


def _ranges(ids):
    """[0, 1, 2, 5] -> '0-2, 5'."""
    parts, start = [], None
    for i, value in enumerate(ids):
        if start is None:
            start = value
        if i + 1 == len(ids) or ids[i + 1] != value + 1:
            parts.append(str(start) if start == value else f"{start}-{value}")
            start = None
    return ", ".join(parts)


def _kind(message, category):
    """A warning's kind: its text with the lists and numbers that vary between occurrences taken out."""
    text = re.sub(r"\[[^\]]*\]", "[...]", str(message).splitlines()[0] if str(message) else "")
    text = re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])", "#", text)
    return f"{category.__name__}: {text[:200]}"


def _counted(message, category, filename, lineno, file=None, line=None):
    degenerate = any(c.__name__ == "DegenerateMaskWarning" for c in category.__mro__)   # methods' and metrics'
    if degenerate and "not finite" not in str(message):
        return   # all-zero and constant maps are counted by masks(), with their images
    _current.add(_kind(message, category))


@contextlib.contextmanager
def collecting():
    """Count warnings (and degenerate maps) into a new :class:`Tally` instead of printing them."""
    global _current
    previous, _current = _current, Tally()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _counted
            yield _current
    finally:
        _current = previous


def state(key):
    """The loop over model states is at ``key`` (None: outside it)."""
    if _current is not None:
        _current.at = key
        if key is not None:
            _current.states.add(key)


def masks(label, values, image_ids):
    """Count the images whose maps of method ``label`` are all zero, or constant (N, ...) ``values``."""
    if _current is None or not len(values):
        return
    flat = np.asarray(values).reshape(len(values), -1)
    zero = ~flat.any(axis=1)
    constant = ~zero & (flat.max(axis=1) == flat.min(axis=1))
    for found, what in ((zero, "all-zero maps"), (constant, "constant maps")):
        if found.any():
            _current.add(f"{label}: {what}", np.asarray(image_ids)[found])


def merged(arrays_list):
    """One :class:`Tally` from the ``to_array`` texts of many tasks (None entries skipped)."""
    total = Tally()
    for array in arrays_list:
        if array is not None:
            total.update(array)
    return total
