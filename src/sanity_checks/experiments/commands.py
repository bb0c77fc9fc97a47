"""The command-line runners behind ``src/run_model_randomization.py`` and
``src/run_data_randomization.py``: argument parsing, loading, running, writing results."""
import argparse
import os

import numpy as np

from .. import figures
from ..errors import SanityCheckError
from ..files import check_output_folder, save_json
from ..methods import LABELS
from .. import loading, user_images
from ..randomize import Strategy
from ..train import versions
from . import data_randomization, jobs, model_randomization, results

#: Few noise samples and integration steps: a smoke-test setting, not for numbers you report.
QUICK_SETTINGS = {"smoothgrad": {"nsamples": 5}, "vargrad": {"nruns": 5},
                  "integrated_gradients": {"x_steps": 10}, "ig_smoothgrad": {"nsamples": 3, "x_steps": 10}}

#: Test images on which each model state's accuracy is measured by default. Its standard error is
#: at most 1.6 points (sqrt(0.25 / 1000)): enough to tell a trained model (85-99%) from a damaged one
#: and to follow the noise test's accuracy curve, at a tenth of the cost of the 10,000 test images
#: (which took 8 s of a 17 s run of 100 images on 2 cores).
DEFAULT_EVAL_IMAGES = 1000


def eval_images_arg(text):
    """--eval-images: a count (0 = no accuracy) or 'all'; returns an int or None (all)."""
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"takes a number of images >= 0 or 'all', got {text!r}")
    return value


def eval_subset(data, n):
    """The first ``n`` test images and labels (all for None), or None if ``n`` is 0 or there are no labels."""
    if data.y_test is None or n == 0:
        return None
    n = len(data.x_test) if n is None else min(n, len(data.x_test))
    return data.x_test[:n], data.y_test[:n]


def add_common_arguments(p):
    p.add_argument("--out", required=True, help="folder for results.csv, summary.json and figures")
    p.add_argument("--images", type=int, default=10, help="how many test images (default 10)")
    p.add_argument("--first-image", type=int, default=0, metavar="I",
                   help="index of the first test image (default 0: the original's first --images; e.g. 10 for "
                        "a second sample of the same size)")
    p.add_argument("--methods", nargs="+", default=None, help="method names (default: all the model supports)")
    p.add_argument("--metrics", nargs="+", default=None,
                   help="spearman_abs, spearman_signed, ssim, hog (default: all that apply to the mask size)")
    p.add_argument("--seed", type=int, default=0, help="seed of the randomization and the methods' noise")
    p.add_argument("--noise", choices=model_randomization.NOISE_MODES, default="per-state",
                   help="the noisy methods' noise across model states: per-state draws fresh (seeded) noise at "
                        "every state, as the original (default); shared uses one realization for all states")
    p.add_argument("--quick", action="store_true",
                   help="few noise samples and IG steps (smoke test; the defaults are the original settings)")
    p.add_argument("--data-root", default="data", help="where data sets are found (default data/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="METHOD.SETTING=VALUE",
                   help="change one method setting, e.g. --set smoothgrad.nsamples=100 "
                        "--set gradcam.resize=tf1_bilinear (repeatable; applied after --quick)")


def add_model_and_image_arguments(p, image_dir=True):
    """Keras loading options and the image options for models without a data set of their own."""
    loading.add_arguments(p)
    user_images.add_arguments(p, image_dir=image_dir)


def add_run_arguments(p, images_per_task=None):
    """Where the tasks run, and resuming (see sanity_checks.runs and the README's "Long runs");
    ``images_per_task``: the runner's default, for the help (default the randomization runners')."""
    g = p.add_argument_group("long runs", "a run writes one part per task under OUT/parts and resumes from "
                                          "them when the same command is run again")
    g.add_argument("--workers", type=int, default=1,
                   help="worker processes on this machine (default 1: in this process)")
    g.add_argument("--threads", type=int, default=None,
                   help="TensorFlow threads per worker (default: cores / workers; for --dask ADDRESS set "
                        "TF_NUM_INTRAOP_THREADS where the workers start); results are byte-identical between runs "
                        "whose workers use the same number of threads")
    g.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="send the tasks to a Dask scheduler (tcp://HOST:8786), or local:N for a local cluster "
                        "of N workers (needs requirements-dask.txt)")
    g.add_argument("--shard", default=None, metavar="K/N",
                   help="run only shard K of N (e.g. one per machine or SLURM array task) into the same --out; "
                        "the shard that finds all parts present writes the results")
    g.add_argument("--merge", action="store_true", help="compute nothing: write the results from the parts")
    g.add_argument("--restart", action="store_true",
                   help="start over: remove OUT's parts and run record first (never with shards running)")
    g.add_argument("--images-per-task", type=int, default=None,
                   help="images per task and part file (default %d)" % (images_per_task or _default_images_per_task()))


def _default_images_per_task():
    from .jobs import IMAGES_PER_TASK
    return IMAGES_PER_TASK


def prepare_threads(args):
    """Before the first model loads: this process's TensorFlow threads, for a run in this process."""
    from .. import runs
    if args.threads is not None and args.threads < 1:
        raise SanityCheckError(f"--threads must be >= 1, got {args.threads}")
    if args.threads and args.workers <= 1 and not args.dask:
        runs.limit_threads(args.threads)


def run_job(job, args):
    """Run ``job`` as the arguments ask; its merge (None when a shard leaves parts missing)."""
    from .. import runs
    shard = runs.parse_shard(args.shard) if args.shard else None
    if args.restart:
        runs.forget(args.out)
    backend = None
    if not args.merge:
        if shard and (args.dask or args.workers > 1):
            raise runs.RunError("--shard runs in this process: leave out --workers and --dask")
        backend = runs.make_backend(job.work, args.workers, args.threads, args.dask)
    return runs.run(job, args.out, backend, shard=shard, merge_only=args.merge)


def test_images(model, n, data_root="data", image_dir=None, first=0, user=None):
    """Test images ``first`` .. ``first + n - 1`` of the data set the model was trained on, and their labels.

    ImageNet models (Inception v3) take the first ``n`` image files of ``image_dir`` (default
    doc/data) instead, preprocessed as the original, with no labels. Models without a data set of
    their own (Keras models), or any model given ``user`` image options (``user_images.options``:
    ``--image-dir``, ``--npy``, ``--data``, ``--preprocess``, ``--labels``), take those images.
    """
    from ..data import load_dataset

    name = getattr(model, "metadata", {}).get("data")
    if first < 0:
        raise SanityCheckError(f"--first-image must be >= 0, got {first}")
    if name == "imagenet":
        if first:
            raise SanityCheckError("--first-image applies to MNIST and Fashion-MNIST models; "
                                   "for ImageNet choose the files with --image-dir")
        from ..imagenet import load_image_dir
        data = load_image_dir(image_dir or os.path.join("doc", "data"), n)
        return data, data.x_test, data.y_test
    user = dict(user or {}, image_dir=image_dir or (user or {}).get("image_dir"))
    if name is None or user_images.requested(user):
        data = user_images.load(model, first + n, user, data_root)
        if first:
            if first >= len(data.x_test):
                raise SanityCheckError(f"--first-image {first}: there are {len(data.x_test)} images")
            data = user_images.skip(data, first)
        return data, data.x_test, data.y_test
    data = load_dataset(name, root=data_root)
    if not 0 < n <= len(data.x_test) - first:
        raise SanityCheckError(f"--images must be in 1..{len(data.x_test) - first} "
                               f"({len(data.x_test)} test images, from --first-image {first}), got {n}")
    return data, data.x_test[first:first + n], data.y_test[first:first + n]


def parse_override(text):
    """'smoothgrad.nsamples=100' -> ('smoothgrad', 'nsamples', 100); numbers and true/false are converted."""
    import json

    try:
        key, raw = text.split("=", 1)
        method, setting = key.split(".", 1)
    except ValueError:
        raise SanityCheckError(f"--set takes METHOD.SETTING=VALUE (e.g. smoothgrad.nsamples=100), got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return method, setting, value


def method_settings(args):
    """The per-method settings of a run: the original's, or --quick's, changed by every --set."""
    from ..methods import method_settings as check_settings

    settings = {m: dict(s) for m, s in (QUICK_SETTINGS if args.quick else {}).items()}
    for text in args.overrides:
        method, setting, value = parse_override(text)
        settings.setdefault(method, {})[setting] = value
        check_settings(method, settings[method])  # unknown methods or settings are refused here
    return settings or None


def randomization_figures(result, model_name, prefix=""):
    """The Figure-2 mask grids (absolute and signed) and similarity-versus-block curves."""
    labels = [s.label for s in result.steps]
    summary = results.summarize(result.rows)
    mode = result.settings["mode"]
    first_image = {step: {m: masks[0] for m, masks in by_method.items()} for step, by_method in result.masks.items()}
    out = {}
    for signed in (False, True):
        out[f"{prefix}mask_grid_{'signed' if signed else 'abs'}.png"] = figures.mask_grid(
            result.images[0], first_image, labels, result.methods, LABELS, signed=signed,
            title=f"{model_name}: {mode} randomization, image 0 ({'signed' if signed else 'absolute'} masks)")
    for metric in result.metrics:
        out[f"{prefix}curves_{metric}.png"] = figures.similarity_curves(
            summary, labels, result.methods, metric, LABELS,
            title=f"{model_name}: {mode} randomization, {result.settings['n_images']} images")
    return out


def model_randomization_main(argv=None):
    p = argparse.ArgumentParser(
        prog="run_model_randomization.py",
        description="Model parameter randomization test: randomize a trained model block by block "
                    "(cascading from the top, or one block at a time), or add Gaussian noise to its weights "
                    "(the model noise test), and compare each method's masks with the trained model's.")
    p.add_argument("--model", required=True,
                   help="a trained model folder (e.g. models/cnn_mnist), a Keras file (.keras, .h5) or a tf-keras "
                        "SavedModel folder")
    p.add_argument("--mode", choices=["cascading", "independent", "noise"], default="cascading",
                   help="noise: the model noise test, cascading from the top block, once per --noise-levels")
    p.add_argument("--blocks", nargs="+", default=None, help="blocks to randomize (default: all, top first)")
    p.add_argument("--randomization", choices=["reinit", "truncated_normal", "uniform", "shuffle"], default="reinit",
                   help="reinit: each variable's own initializer, as the original code (default); "
                        "truncated_normal / uniform: std 0.01, as the paper's appendix; "
                        "shuffle: each variable's trained values permuted in place (seeded)")
    p.add_argument("--order", choices=["top-down", "bottom-up"], default="top-down",
                   help="cascade order: top-down (output block first, the original; default) or bottom-up "
                        "(input block first, as Hedstrom et al. 2023 recommend)")
    p.add_argument("--noise-levels", nargs="+", type=float, default=[0.1, 0.2, 0.3],
                   help="noise mode: standard deviations of the additive noise (default 0.1 0.2 0.3, as the original)")
    p.add_argument("--relative-noise", action="store_true",
                   help="noise mode: each level times the variable's own standard deviation (default: absolute)")
    p.add_argument("--fixed-class", action="store_true",
                   help="explain the trained model's class at every step (default: the current model's own "
                        "top class, as the original)")
    p.add_argument("--eval-images", type=eval_images_arg, default=DEFAULT_EVAL_IMAGES, metavar="N|all",
                   help=f"test images on which each model state's accuracy is measured, from the first "
                        f"(default {DEFAULT_EVAL_IMAGES}; 'all' for the whole test set; 0: no accuracy)")
    p.add_argument("--image-dir", default=None,
                   help="a folder of images, the first --images in name order (ImageNet models: default doc/data)")
    add_common_arguments(p)
    add_model_and_image_arguments(p, image_dir=False)
    add_run_arguments(p)
    args = p.parse_args(argv)
    if args.mode == "noise" and any(level < 0 for level in args.noise_levels):
        p.error("--noise-levels must be >= 0")
    check_output_folder(args.out)

    prepare_threads(args)
    model = loading.load_from_args(args)
    data, images, labels = test_images(model, args.images, args.data_root, args.image_dir, args.first_image,
                                       user_images.options(args))
    if getattr(data, "files", None):
        from ..imagenet import describe_predictions
        print(f"{len(images)} images, the trained model's top class:\n"
              + describe_predictions(model, images, [os.path.basename(f) for f in data.files]))
    model_name = f"{model.architecture.name.upper()} on {data.name}"
    if args.mode == "noise":
        runs = [(level, "cascading", Strategy("noise", level, relative=args.relative_noise))
                for level in args.noise_levels]
    else:
        runs = [(None, args.mode, Strategy(args.randomization))]
    job = jobs.model_randomization_job(
        model, args.model, images, runs_=runs, blocks=args.blocks, order=args.order, methods=args.methods,
        metrics=args.metrics, seed=args.seed, fixed_class=args.fixed_class, method_settings=method_settings(args),
        eval_images=args.eval_images, data_root=args.data_root, image_dir=args.image_dir, noise=args.noise,
        first_image=args.first_image, data=(data, images, labels),
        images_per_task=args.images_per_task or jobs.IMAGES_PER_TASK, loading=loading.options_from_args(args),
        user_images=user_images.options(args))
    outcomes = run_job(job, args)
    if outcomes is None:   # a shard that left parts missing
        return None
    rows = [row for result in outcomes for row in result.rows]
    settings = {**outcomes[0].settings, "mode": args.mode, "quick": args.quick}
    if args.mode == "noise":
        settings.update(noise_levels=args.noise_levels, relative_noise=args.relative_noise,
                        randomization=f"additive Gaussian noise, {'relative' if args.relative_noise else 'absolute'} std")
        summary_stats = {str(level): results.summarize(r.rows) for level, r in zip(args.noise_levels, outcomes)}
        figs = noise_figures(outcomes, args.noise_levels, model_name, args.relative_noise)
    else:
        summary_stats = results.summarize(rows)
        figs = randomization_figures(outcomes[0], model_name)
    summary = {"model": os.path.abspath(args.model), "model_metadata": {k: model.metadata.get(k) for k in (
        "architecture", "data", "data_source", "labels", "seed", "accuracy")},
        "settings": settings, "versions": versions(), "summary": summary_stats,
        "test_accuracy": ({str(level): r.accuracy for level, r in zip(args.noise_levels, outcomes)}
                          if args.mode == "noise" else outcomes[0].accuracy),
        "test_accuracy_images": settings["accuracy_images"]}
    written = results.write_all(args.out, rows, summary, figs)
    for level, result in zip(args.noise_levels if args.mode == "noise" else [None], outcomes):
        if level is not None:
            print(f"noise level {level}:")
        print_last_step(result)
        if result.accuracy:
            print(f"test accuracy on {result.settings['accuracy_images']} images (--eval-images): "
                  + ", ".join(f"{step} {value:.3f}" for step, value in result.accuracy.items()))
    print("wrote:\n  " + "\n  ".join(written))
    return outcomes


def noise_figures(outcomes, levels, model_name, relative):
    """Similarity versus block, one panel per noise level, for each metric; test accuracy per step."""
    import matplotlib.pyplot as plt

    scale = "x the weights' std" if relative else "absolute"
    labels = [s.label for s in outcomes[0].steps]
    out = {}
    for metric in outcomes[0].metrics:
        fig, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels), 3.8), squeeze=False, sharey=True)
        for ax, level, result in zip(axes[0], levels, outcomes):
            figures.similarity_curves(results.summarize(result.rows), labels, result.methods, metric, LABELS,
                                      title=f"noise std {level} ({scale})", ax=ax)
        axes[0, 0].legend(fontsize=7, loc="lower left", ncol=2)
        fig.suptitle(f"{model_name}: cascading noise, {outcomes[0].settings['n_images']} images", fontsize=10)
        fig.tight_layout()
        out[f"noise_curves_{metric}.png"] = figures.detached(fig)
    if not outcomes[0].accuracy:   # no labelled evaluation data (ImageNet image folders)
        return out
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for level, result in zip(levels, outcomes):
        ax.plot(labels, [result.accuracy[s] for s in labels], marker="o", label=f"std {level}")
    n_eval = outcomes[0].settings.get("accuracy_images")
    ax.set(ylabel=f"test accuracy ({n_eval} images)" if n_eval else "test accuracy", ylim=(0, 1.02),
           title=f"{model_name}: accuracy under cascading noise ({scale})")
    ax.tick_params(axis="x", rotation=60)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out["noise_accuracy.png"] = figures.detached(fig)
    return out


def print_last_step(result):
    """One line per method: mean similarity after the last step, per metric."""
    summary = results.summarize(result.rows)
    last = result.steps[-1].label
    print(f"mean similarity to the trained model's masks at step '{last}' ({result.settings['n_images']} images):")
    for method in result.methods:
        cells = ", ".join(f"{m} {summary[method][last][m]['mean']:+.3f}" for m in result.metrics)
        print(f"  {LABELS[method]:<22} {cells}")


def data_randomization_main(argv=None):
    p = argparse.ArgumentParser(
        prog="run_data_randomization.py",
        description="Data randomization test: compare each method's masks for the same test images under a "
                    "model trained on the true labels and one trained on permuted labels (--randlabels).")
    p.add_argument("--model", required=True,
                   help="the true-label model folder (e.g. models/cnn_mnist) or Keras file")
    p.add_argument("--random-model", required=True,
                   help="the random-label model folder or Keras file of the same architecture "
                        "(e.g. models/cnn_mnist_randlabels)")
    add_common_arguments(p)
    add_model_and_image_arguments(p)
    add_run_arguments(p)
    args = p.parse_args(argv)
    check_output_folder(args.out)

    prepare_threads(args)
    model, random_model = loading.load_from_args(args), loading.load_from_args(args, args.random_model)
    if random_model.metadata.get("labels") != "permuted":
        print(f"note: {args.random_model} was not trained with --randlabels (labels: "
              f"{random_model.metadata.get('labels')})")
    data, images, labels = test_images(model, args.images, args.data_root, first=args.first_image,
                                       user=user_images.options(args))
    job = jobs.data_randomization_job(
        model, random_model, args.model, args.random_model, images, methods=args.methods, metrics=args.metrics,
        seed=args.seed, method_settings=method_settings(args), data_root=args.data_root, noise=args.noise,
        first_image=args.first_image, data=(data, images, labels),
        images_per_task=args.images_per_task or jobs.IMAGES_PER_TASK, loading=loading.options_from_args(args),
        user_images=user_images.options(args))
    result = run_job(job, args)
    if result is None:
        return None
    summary_stats = results.summarize(result.rows)
    summary = {"model": os.path.abspath(args.model), "random_model": os.path.abspath(args.random_model),
               "models_metadata": {which: {k: m.metadata.get(k) for k in (
                   "architecture", "data", "data_source", "labels", "seed", "accuracy")}
                   for which, m in (("true", model), ("random", random_model))},
               "settings": {**result.settings, "quick": args.quick}, "versions": versions(),
               "summary": summary_stats}
    name = f"{model.architecture.name.upper()} on {data.name}"
    figs = {}
    for metric in result.metrics:
        figs[f"bars_{metric}.png"] = figures.bar_chart(
            summary_stats, result.methods, metric, data_randomization.RANDOM_LABELS, LABELS,
            title=f"{name}: true-label vs random-label model, {len(images)} images")
    first_image = {step: {m: masks[0] for m, masks in by_method.items()} for step, by_method in result.masks.items()}
    figs["masks.png"] = figures.mask_grid(result.images[0], first_image, [s.label for s in result.steps],
                                          result.methods, LABELS, title=f"{name}: image 0")
    written = results.write_all(args.out, result.rows, summary, figs)
    print_last_step(result)
    print("wrote:\n  " + "\n  ".join(written))
    return result
