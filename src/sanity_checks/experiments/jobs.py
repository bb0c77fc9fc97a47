"""The randomization experiments as :mod:`~sanity_checks.runs` jobs: tasks of images, parts, merge.

A task is a group of images through every model state (every noise level too), cut on the
boundaries of the blocks of image ids they are explained in (``by_image``); its part holds the
similarity values, the classes explained and, for the task holding image 0, that image's masks for
the figures. The per-state accuracy on the evaluation data is a task of its own. Merging the parts
gives the same :class:`~.model_randomization.RandomizationResult` s as the in-memory ``run``
functions, so the commands write the same files whatever ran the tasks, and where.

Runners (``*_runner(config)``) are built once per worker process from JSON settings; jobs live in
the process that started the run.
"""
import os
from dataclasses import asdict

import numpy as np

from .. import runs
from ..by_image import BLOCK
from ..methods import failures, user_module
from ..randomize import Randomizer, Strategy
from . import data_randomization, model_randomization
from ..loading import model_reference
from ..runs.tasks import check_per_task
from .inputs import ModelAndImages, absolute_paths, eval_subset, identity, load_model_from

#: Images per task by default: one block of ``by_image.BLOCK`` ids (the unit images are explained in,
#: whatever the split); ``--images-per-task`` is a multiple of it or divides it. Larger tasks pay the
#: per-task cost (a part file, re-setting the weights per state) less often and lose more when a run
#: is killed.
IMAGES_PER_TASK = BLOCK
ACCURACY = runs.Task("accuracy", (), "accuracy")


# ---------------------------------------------------------------------------------------- model randomization
class ModelRandomizationRunner(ModelAndImages):
    """Config: model, data_root, image_dir, n_images, runs [[level, mode, strategy fields]], blocks,
    order, methods, metrics, seed, fixed_class, method_settings, eval_images (None: all), accuracy_images
    (how many the per-state accuracy uses; 0: no accuracy task)."""

    def __init__(self, config, model=None, data=None):
        super().__init__(config, model, data)
        self.strategies = [Strategy(**fields) for _, _, fields in config["runs"]]
        self.randomizers = [Randomizer(self.model, strategy, seed=config["seed"], order=config["order"])
                            for strategy in self.strategies]
        self.steps = [r.steps(mode, config["blocks"]) for r, (_, mode, _) in zip(self.randomizers, config["runs"])]

    def run_task(self, task):
        with failures.collecting() as log:
            out = self._run_task(task)
        return {**out, failures.KEY: failures.to_array(log)} if log else out

    def _run_task(self, task):
        c, out = self.config, {}
        if task.kind == "accuracy":
            eval_data = eval_subset(self.data[0], c["eval_images"])
            for r, (randomizer, steps) in enumerate(zip(self.randomizers, self.steps)):
                with randomizer:
                    out[f"accuracy_{r}"] = model_randomization.state_accuracy(self.model, randomizer, steps, eval_data)
            return out
        positions, ids, images = self.task_images(task)
        keep = 1 if positions[0] == 0 else 0
        for r, (randomizer, steps) in enumerate(zip(self.randomizers, self.steps)):
            with randomizer:
                values, classes, masks = model_randomization.explain_through_states(
                    self.model, randomizer, steps, images, ids, c["methods"], c["metrics"], seed=c["seed"],
                    fixed_class=c["fixed_class"], method_settings=c["method_settings"], keep_masks=keep,
                    noise=c["noise"])
            out[f"values_{r}"], out[f"classes_{r}"] = values, classes
            if keep:
                out[f"masks_{r}"] = masks
        if keep:
            out["first_image"] = images[:1]
        return out


def model_randomization_runner(config):
    user_module.load_recorded(config)   # a worker: the user's methods before the runner resolves them
    return ModelRandomizationRunner(config)


def _by_image(parts, n, name):
    """The arrays ``name`` of images 0..n-1 from their parts, joined on the image axis (-2 of values:
    axis 2; of classes: axis 1)."""
    found = runs.parts_by_image(parts)
    pieces = []
    for image in range(n):
        arrays, index = found[image]
        value = arrays[name]
        axis = 2 if value.ndim == 4 else 1
        pieces.append(np.take(value, [index], axis=axis))
    return np.concatenate(pieces, axis=2 if pieces[0].ndim == 4 else 1)


def _first_image_part(parts):
    arrays, index = runs.parts_by_image(parts)[0]
    return arrays


def _kept_methods(parts, methods):
    """The methods that failed at no image (the others said, one line each, on stderr) and their positions."""
    import sys
    found = failures.from_arrays(arrays[failures.KEY] for _, arrays in parts.values() if failures.KEY in arrays)
    for text in failures.describe(found, order=methods):
        print(f"note: {text}", file=sys.stderr)
    kept = [m for m in methods if m not in found]
    return kept, [methods.index(m) for m in kept]


class RandomizationJob(runs.Job):
    """The tasks and the merge of a randomization experiment; ``runner`` is this process's runner."""

    def __init__(self, factory, config, runner, images_per_task=IMAGES_PER_TASK, identity=None):
        self.work = runs.Work(factory, config)
        self.config, self.runner, self.images_per_task = config, runner, check_per_task(images_per_task, BLOCK)
        runs.remember(self.work, runner)   # a serial run uses the model this process loaded already
        self.settings = {**{k: v for k, v in config.items() if k not in ("model", "random_model", "data_root",
                                                                          "image_dir")},
                         **(identity or {}), "package_version": runs.package_version()}

    def tasks(self):
        extra = [ACCURACY] if self.config.get("accuracy_images") else []
        return extra + runs.image_tasks(range(self.config["n_images"]), self.images_per_task,
                                        ids=self.config["image_ids"], block=BLOCK)


class ModelRandomizationJob(RandomizationJob):
    def merge(self, parts):
        """One RandomizationResult per run (noise level), as :func:`model_randomization.run` gives."""
        c, n = self.config, self.config["n_images"]
        first = _first_image_part(parts)
        methods, keep = _kept_methods(parts, c["methods"])
        outcomes = []
        for r, ((level, mode, _), strategy, steps) in enumerate(zip(c["runs"], self.runner.strategies,
                                                                   self.runner.steps)):
            accuracy = parts[ACCURACY.key][1][f"accuracy_{r}"] if c["accuracy_images"] else None
            settings = model_randomization.run_settings(steps, mode, c["order"], methods, c["metrics"],
                                                        strategy, c["seed"], n, c["fixed_class"],
                                                        c["method_settings"], c["accuracy_images"], c["noise"],
                                                        c["image_ids"])
            outcomes.append(model_randomization.assemble(
                steps, methods, c["metrics"], settings, _by_image(parts, n, f"values_{r}")[:, keep],
                _by_image(parts, n, f"classes_{r}"), first[f"masks_{r}"][:, keep], first["first_image"], accuracy,
                level, c["image_ids"]))
        return outcomes


def model_randomization_job(model, model_folder, images, *, runs_, blocks, order, methods, metrics, seed,
                            fixed_class, method_settings, eval_images, data_root, image_dir, noise="per-state",
                            first_image=0, data=None, images_per_task=IMAGES_PER_TASK, loading=None,
                            user_images=None):
    """The job of a model randomization run over ``images`` (N, ...) of ``model`` loaded from ``model_folder``.

    ``runs_``: [(level, mode, Strategy)]. Methods and metrics default as in ``model_randomization.run``.
    ``eval_images``: the per-state accuracy's first test images (None: all, 0: none); ``data``: what
    ``inputs.test_images`` returned (it is loaded again in each worker).
    """
    from .. import metrics as metrics_module
    from ..methods import available_methods
    from ..methods.registry import runnable_methods

    images = model.check_images(images)
    methods = list(methods or available_methods(model))
    metrics = list(metrics or model_randomization.default_metrics(images.shape[1:3]))
    metrics_module.check_names(metrics)
    methods = runnable_methods(model, methods, method_settings)   # refused before anything is written
    eval_data = eval_subset(data[0], eval_images) if data is not None else None
    config = {"model": model_reference(model_folder), "data_root": os.path.abspath(data_root),
              "image_dir": image_dir and os.path.abspath(image_dir), "n_images": int(len(images)),
              "runs": [[level, mode, asdict(strategy)] for level, mode, strategy in runs_], "blocks": blocks,
              "order": order, "methods": methods, "metrics": metrics, "seed": seed, "fixed_class": fixed_class,
              "method_settings": method_settings or {}, "eval_images": eval_images, "noise": noise,
              "first_image": int(first_image), "image_ids": list(range(first_image, first_image + len(images))),
              "accuracy_images": 0 if eval_data is None else int(len(eval_data[1])),
              "loading": loading or {}, "user_images": absolute_paths(user_images), **user_module.run_config()}
    runner = ModelRandomizationRunner(config, model, data)
    return ModelRandomizationJob("sanity_checks.experiments.jobs:model_randomization_runner", config, runner,
                                 images_per_task, identity=identity(model_folder, data, loading=loading))


# ---------------------------------------------------------------------------------------- data randomization
class DataRandomizationRunner(ModelAndImages):
    """Config: model, random_model, data_root, n_images, methods, metrics, seed, method_settings."""

    def __init__(self, config, model=None, random_model=None, data=None):
        super().__init__(config, model, data)
        self.random_model = random_model if random_model is not None else load_model_from(config, "random_model")

    def run_task(self, task):
        with failures.collecting() as log:
            out = self._run_task(task)
        return {**out, failures.KEY: failures.to_array(log)} if log else out

    def _run_task(self, task):
        c = self.config
        positions, ids, images = self.task_images(task)
        keep = 1 if positions[0] == 0 else 0
        values, classes, masks = data_randomization.explain_both(
            self.model, self.random_model, images, ids, c["methods"], c["metrics"], seed=c["seed"],
            method_settings=c["method_settings"], keep_masks=keep, noise=c["noise"])
        out = {"values_0": values, "classes_0": classes}
        if keep:
            out.update(masks_0=masks, first_image=images[:1])
        return out


def data_randomization_runner(config):
    user_module.load_recorded(config)
    return DataRandomizationRunner(config)


class DataRandomizationJob(RandomizationJob):
    def merge(self, parts):
        c, n = self.config, self.config["n_images"]
        first = _first_image_part(parts)
        methods, keep = _kept_methods(parts, c["methods"])
        settings = data_randomization.run_settings(methods, c["metrics"], c["seed"], n, c["method_settings"],
                                                   c["noise"], c["image_ids"])
        return model_randomization.assemble(list(data_randomization.STEPS), methods, c["metrics"], settings,
                                            _by_image(parts, n, "values_0")[:, keep], _by_image(parts, n, "classes_0"),
                                            first["masks_0"][:, keep], first["first_image"], image_ids=c["image_ids"])


def data_randomization_job(model, random_model, model_folder, random_folder, images, *, methods, metrics, seed,
                           method_settings, data_root, noise="per-state", first_image=0, data=None,
                           images_per_task=IMAGES_PER_TASK, loading=None, user_images=None, random_loading=None):
    from .. import metrics as metrics_module
    from ..methods import available_methods
    from ..methods.registry import runnable_methods

    data_randomization.check_pair(model, random_model)
    images = model.check_images(images)
    methods = list(methods or available_methods(model))
    metrics = list(metrics or model_randomization.default_metrics(images.shape[1:3]))
    metrics_module.check_names(metrics)
    methods = runnable_methods(model, methods, method_settings)   # refused before anything is written
    config = {"model": model_reference(model_folder), "random_model": model_reference(random_folder),
              "data_root": os.path.abspath(data_root), "n_images": int(len(images)), "methods": methods,
              "metrics": metrics, "seed": seed, "method_settings": method_settings or {}, "noise": noise,
              "first_image": int(first_image), "image_ids": list(range(first_image, first_image + len(images))),
              "loading": loading or {}, "user_images": absolute_paths(user_images), **user_module.run_config()}
    if random_loading is not None:   # the random-label model's own options (a PyTorch model's weights)
        config["random_loading"] = random_loading
    runner = DataRandomizationRunner(config, model, random_model, data)
    return DataRandomizationJob("sanity_checks.experiments.jobs:data_randomization_runner", config, runner,
                                images_per_task, identity=identity(model_folder, data, random_folder, loading, random_loading))
