"""The report's checks as :mod:`~sanity_checks.runs` jobs: tasks of images, parts, merge.

A task is a group of images through every requested check. Every draw of a check is seeded by
(seed, image id, what is drawn) and images are explained in blocks keyed by their ids
(``by_image``), so a check run on a task's images gives exactly those images' rows of the run on
all images; no task straddles two blocks. A part holds, per check:

- the tidy rows as plain arrays (``CHECK/rows/COLUMN``; strings as fixed-width unicode);
- the settings the check used, as JSON text (``CHECK/used``), and the seconds it took;
- the maps kept for figures, only of the images among the check's first ``keep_maps`` of the run
  (``CHECK/maps/NAME``: the other tasks store none);
- or, for a check that cannot run on this model, its reason (``CHECK/skipped``).

The merge restores the order of ``run``'s rows on all images (by each check's ``row_group``),
so the report written from it is the same, byte for byte, however the images were grouped and
wherever the tasks ran. Formatting and judging stay in :mod:`sanity_checks.report`.
"""
import hashlib
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import runs
from ..by_image import BLOCK
from ..runs.tasks import check_per_task
from ..experiments.inputs import ModelAndImages, absolute_paths, identity
from ..loading import model_reference
from ..methods import failures, user_module
from .common import COLUMNS, CheckError, CheckResult

#: Images per task by default: one block of ``by_image.BLOCK`` ids (``--images-per-task`` is a
#: multiple of it or divides it). Each check pays a fixed cost per task (a randomizer, the shifted
#: model of input invariance), so larger tasks are cheaper, smaller ones spread better over workers
#: and lose less when a run is killed.
IMAGES_PER_TASK = BLOCK
_INTEGER_COLUMNS = ("image", "step_index")
_FLOAT_COLUMNS = ("value",)


@dataclass
class Merged:
    """What the tasks of a report computed: {check: CheckResult} of the checks that ran on all images,
    {check: reason} of those that could not run, and {check: seconds summed over the tasks}."""

    results: dict
    skipped: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- rows as arrays
def rows_to_arrays(rows, prefix):
    """Tidy rows -> {prefix + column: 1-d array} (int64, float64 or fixed-width unicode; no objects)."""
    out = {}
    for column in COLUMNS:
        values = [r[column] for r in rows]
        if column in _INTEGER_COLUMNS:
            out[prefix + column] = np.asarray(values, dtype=np.int64)
        elif column in _FLOAT_COLUMNS:
            out[prefix + column] = np.asarray(values, dtype=np.float64)
        else:
            out[prefix + column] = np.asarray(values, dtype=str) if values else np.zeros(0, dtype="<U1")
    return out


def arrays_to_rows(arrays, prefix):
    columns = {c: arrays[prefix + c] for c in COLUMNS}
    n = len(columns[COLUMNS[0]])
    convert = {c: (int if c in _INTEGER_COLUMNS else float if c in _FLOAT_COLUMNS else str) for c in COLUMNS}
    return [{c: convert[c](columns[c][i]) for c in COLUMNS} for i in range(n)]


def _text(value):
    return np.frombuffer(value.encode(), dtype=np.uint8)


def _read_text(array):
    return bytes(np.asarray(array, dtype=np.uint8)).decode()


def jsonable(obj):
    """``obj`` as plain JSON types (numpy arrays as lists, tuples as lists, anything else as text)."""
    return json.loads(json.dumps(obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


# ---------------------------------------------------------------------------------------- runner
class ChecksRunner:
    """Config: model (folder; None for a model only in memory), loading, data_root, image_dir, n_images,
    first_image, user_images, image_ids, checks, seed, check_settings ({check: settings})."""

    def __init__(self, config, model=None, data=None):
        self._base = ModelAndImages(config, model, data)
        self.config, self.model = config, self._base.model

    def run_task(self, task):
        from . import CHECKS

        c = self.config
        positions, ids, images = self._base.task_images(task)
        out = {}
        for check in c["checks"]:
            prefix = f"{check}/"
            start = time.perf_counter()
            try:
                with failures.collecting() as log:
                    result = CHECKS[check].run(self.model, images, ids, seed=c["seed"],
                                               settings=c["check_settings"].get(check))
            except CheckError as err:   # e.g. input invariance on a first layer without a bias
                out[prefix + "skipped"] = _text(str(err))
                continue
            if log:   # a method that failed at run time: left out at the merge
                out[prefix + failures.KEY] = failures.to_array(log)
            out.update(rows_to_arrays(result.rows, prefix + "rows/"))
            out[prefix + "used"] = _text(json.dumps(jsonable(result.settings), sort_keys=True))
            out[prefix + "seconds"] = np.float64(time.perf_counter() - start)
            if result.maps:
                # maps of the run's first keep_maps images only (those of the other tasks are not figured)
                keep = max(0, min(len(positions), int(result.settings["keep_maps"]) - int(positions[0])))
                out.update({f"{prefix}maps/{name}": np.asarray(value)[:keep] for name, value in result.maps.items()})
        return out


def checks_runner(config):
    user_module.load_recorded(config)   # a worker: the user's methods before the checks resolve them
    return ChecksRunner(config)


# ---------------------------------------------------------------------------------------- job
class ChecksJob(runs.Job):
    def __init__(self, config, runner, images_per_task=IMAGES_PER_TASK, identity=None):
        self.work = runs.Work("sanity_checks.checks.jobs:checks_runner", config)
        self.config, self.runner, self.images_per_task = config, runner, check_per_task(images_per_task, BLOCK)
        runs.remember(self.work, runner)   # a serial run uses the model this process loaded already
        self.settings = {**{k: v for k, v in config.items() if k not in ("model", "data_root", "image_dir")},
                         **(identity or {}), "package_version": runs.package_version()}

    def tasks(self):
        return runs.image_tasks(range(self.config["n_images"]), self.images_per_task, ids=self.config["image_ids"],
                                block=BLOCK)

    def merge(self, parts):
        from . import CHECKS

        n, ids = self.config["n_images"], self.config["image_ids"]
        found = runs.parts_by_image(parts)
        by_image = [found[p] for p in range(n)]
        # the distinct parts the merge reads, in image order
        used_parts = list({id(arrays): arrays for arrays, _ in by_image}.values())
        merged = Merged({})
        failed = self._failed(used_parts)
        for check in self.config["checks"]:
            prefix = f"{check}/"
            skipped = [a for a in used_parts if prefix + "skipped" in a]
            if skipped:
                merged.skipped[check] = _read_text(skipped[0][prefix + "skipped"])
                continue
            spec = CHECKS[check]
            used = spec.merged_settings([json.loads(_read_text(a[prefix + "used"])) for a in used_parts])
            rows = [r for r in self._rows(by_image, ids, prefix, spec.row_group) if r["method"] not in failed]
            maps = {k: v for k, v in self._maps(by_image, prefix, used).items() if k.split("|")[-1] not in failed}
            if failed and "methods" in used:
                used = {**used, "methods": [m for m in used["methods"] if m not in failed]}
            merged.results[check] = CheckResult(rows, used, maps)
            merged.seconds[check] = float(sum(float(a[prefix + "seconds"]) for a in used_parts))
        return merged

    def _failed(self, used_parts):
        """The methods that failed in any check at any image, said once each (one line on stderr)."""
        import sys
        found = {}
        for check in self.config["checks"]:
            key = f"{check}/{failures.KEY}"
            for method, (images, message) in failures.from_arrays(a[key] for a in used_parts if key in a).items():
                known = found.setdefault(method, ([], message, []))
                known[0].extend(images)
                known[2].append(check)
        order = [m for c in self.config["checks"] for m in self.config["check_settings"].get(c, {}).get("methods") or ()]
        for method in sorted(found, key=lambda m: (order.index(m) if m in order else len(order), m)):
            images, message, checks = found[method]
            print(f"note: {failures.describe({method: (images, message)}, ' (' + ', '.join(checks) + ')')[0]}",
                  file=sys.stderr)
        return set(found)

    @staticmethod
    def _rows(by_image, ids, prefix, group):
        """Every image's rows from its part, in the order of ``run`` on all images."""
        converted = {}   # each part's rows converted once
        keyed, rank = [], {}
        for position, (arrays, _) in enumerate(by_image):
            if id(arrays) not in converted:
                converted[id(arrays)] = arrays_to_rows(arrays, prefix + "rows/")
            image_rows = [r for r in converted[id(arrays)] if r["image"] == int(ids[position])]
            for within, r in enumerate(image_rows):
                outer = tuple(r[c] for c in group)
                rank.setdefault(outer, len(rank))
                keyed.append(((rank[outer], position, within), r))
        return [r for _, r in sorted(keyed, key=lambda item: item[0])]

    @staticmethod
    def _maps(by_image, prefix, used):
        """The maps of the run's first keep_maps images, from the parts that hold them."""
        first = by_image[0][0]
        names = [k[len(prefix + "maps/"):] for k in first if k.startswith(prefix + "maps/")]
        if not names:
            return {}
        keep = min(int(used["keep_maps"]), len(by_image))
        return {name: np.concatenate([first[prefix + "maps/" + name][:0]]
                                     + [arrays[prefix + "maps/" + name][index:index + 1]
                                        for arrays, index in by_image[:keep]])
                for name in names}


def _config(checks, seed, check_settings, image_ids, **inputs):
    return {**inputs, "n_images": len(image_ids), "image_ids": [int(i) for i in image_ids], "checks": list(checks),
            "seed": int(seed), "check_settings": jsonable(check_settings or {}), **user_module.run_config()}


def checks_job(model, model_folder, data, *, checks, seed, check_settings, data_root, image_dir=None,
               images_per_task=IMAGES_PER_TASK, loading=None, user_images=None):
    """The job of a report over the images of ``data`` (what ``experiments.inputs.test_images`` returned) of ``model``
    loaded from ``model_folder``: pool and Dask workers load both again from these."""
    images = data[1]
    config = _config(checks, seed, check_settings, range(len(images)), model=model_reference(model_folder),
                     loading=loading or {}, data_root=os.path.abspath(data_root),
                     image_dir=image_dir and os.path.abspath(image_dir), first_image=0,
                     user_images=absolute_paths(user_images))
    return ChecksJob(config, ChecksRunner(config, model, data), images_per_task,
                     identity(model_folder, data, loading=loading))


def in_memory_job(model, images, image_ids, *, checks, seed, check_settings, images_per_task=IMAGES_PER_TASK):
    """The job of a report on a model and images held only by this process (the Python API): it runs
    serially here; the manifest names them by hashes of the weights and the images."""
    images = model.check_images(images)
    weights = model.get_weights()
    digest = hashlib.sha256()
    for name in sorted(weights):
        digest.update(name.encode() + b"\0" + np.ascontiguousarray(weights[name]).tobytes())
    identity = {"weights": digest.hexdigest(),
                "images": hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()}
    config = _config(checks, seed, check_settings, image_ids, model=None)
    return ChecksJob(config, ChecksRunner(config, model, (None, images, None)), images_per_task, identity)
