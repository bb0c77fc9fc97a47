"""The command-line runners behind ``src/run_model_randomization.py`` and
``src/run_data_randomization.py``: argument parsing, loading, running, writing results."""
import argparse
import os
import sys

from .. import loading, user_images
from ..contract import FINAL_ACTIVATION
from ..experiments import data_randomization, jobs, results
from ..experiments.inputs import DEFAULT_EVAL_IMAGES, test_images
from ..engines.pytorch.loading import is_torch_spec
from ..errors import SanityCheckError
from ..files import check_output_folder
from ..methods import LABELS
from ..randomize import Strategy
from ..report.about import single_output_note
from ..versions import versions
from .options import (add_common_arguments, add_model_and_image_arguments, add_run_arguments, eval_images_arg,
                      load_method_modules, method_settings, prepare_threads, run_job, take_grouping)


def model_randomization_main(argv=None):
    p = argparse.ArgumentParser(
        prog="run_model_randomization.py",
        description="Model parameter randomization test: randomize a trained model block by block "
                    "(cascading from the top, or one block at a time), or add Gaussian noise to its weights "
                    "(the model noise test), and compare each method's masks with the trained model's.")
    p.add_argument("--model", required=True,
                   help="a trained model folder (e.g. models/cnn_mnist), a Keras file (.keras, .h5), a tf-keras "
                        "SavedModel folder or a PyTorch model (my_net.py:make_model, torchvision:NAME; see --weights)")
    p.add_argument("--mode", choices=["cascading", "independent", "noise"], default="cascading",
                   help="noise: the model noise test, cascading from the top block, once per --noise-levels")
    p.add_argument("--blocks", nargs="+", default=None,
                   help="blocks to randomize (default: all, top first); or 'layers': a Keras or PyTorch model's blocks "
                        "one per weighted layer, instead of its stages as its layer names show them (the default, "
                        "e.g. DenseNet's conv5_block16, torchvision's layer3.1)")
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
    args = take_grouping(p.parse_args(argv))
    if args.mode == "noise" and any(level < 0 for level in args.noise_levels):
        p.error("--noise-levels must be >= 0")
    check_output_folder(args.out)
    load_method_modules(args)

    prepare_threads(args)
    model = loading.load_from_args(args)
    notes = model_notes(model)
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
    from ..experiments.result_figures import noise_figures, randomization_figures   # imported during the tasks
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
    summary = {"model": loading.model_reference(args.model), "model_metadata": {k: model.metadata.get(k) for k in (
        "architecture", "data", "data_source", "labels", "seed", "accuracy", "explained", FINAL_ACTIVATION)},
        "settings": settings, "versions": versions(), "summary": summary_stats,
        "test_accuracy": ({str(level): r.accuracy for level, r in zip(args.noise_levels, outcomes)}
                          if args.mode == "noise" else outcomes[0].accuracy),
        "test_accuracy_images": settings["accuracy_images"],
        "warnings": getattr(job, "warnings", {}),   # each kind of warning of the run, with its counts
        "notes": notes}
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


def model_notes(model):
    """Lines on what the run explains that a reader would not guess (a single output), each printed to
    stderr now and kept in summary.json."""
    notes = []
    if model.architecture.num_classes == 1:
        notes.append(f"note: {model.architecture.name} has a single output. "
                     + single_output_note(model.metadata.get("explained"), model.metadata.get(FINAL_ACTIVATION)))
    for line in notes:
        print(line, file=sys.stderr)
    return notes


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
                   help="the true-label model folder (e.g. models/cnn_mnist), Keras file or PyTorch model")
    p.add_argument("--random-model", required=True,
                   help="the random-label model folder or Keras file of the same architecture "
                        "(e.g. models/cnn_mnist_randlabels), or a PyTorch model with --random-weights")
    p.add_argument("--random-weights", default=None, metavar="FILE",
                   help="PyTorch: the random-label model's state dict (--weights is the true-label model's)")
    add_common_arguments(p)
    add_model_and_image_arguments(p)
    add_run_arguments(p)
    args = p.parse_args(argv)
    check_output_folder(args.out)
    load_method_modules(args)

    prepare_threads(args)
    options = loading.options_from_args(args)
    random_options = None
    if args.random_weights:
        random_options = {**options, "weights": os.path.abspath(args.random_weights)}
    elif options.get("weights") and is_torch_spec(args.random_model):
        raise SanityCheckError("--weights names the true-label model's weights; give the random-label model's "
                               "with --random-weights")
    model = loading.load_model(args.model, **options)
    random_model = loading.load_model(args.random_model, **(random_options or options))
    if random_model.metadata.get("labels") != "permuted":
        print(f"note: {args.random_model} was not trained with --randlabels (labels: "
              f"{random_model.metadata.get('labels')})")
    data, images, labels = test_images(model, args.images, args.data_root, first=args.first_image,
                                       user=user_images.options(args))
    job = jobs.data_randomization_job(
        model, random_model, args.model, args.random_model, images, methods=args.methods, metrics=args.metrics,
        seed=args.seed, method_settings=method_settings(args), data_root=args.data_root, noise=args.noise,
        first_image=args.first_image, data=(data, images, labels),
        images_per_task=args.images_per_task or jobs.IMAGES_PER_TASK, loading=options,
        user_images=user_images.options(args), random_loading=random_options)
    result = run_job(job, args)
    if result is None:
        return None
    from .. import figures   # imported during the tasks
    summary_stats = results.summarize(result.rows)
    summary = {"model": loading.model_reference(args.model),
               "random_model": loading.model_reference(args.random_model),
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
