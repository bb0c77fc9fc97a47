"""The report's main: ``src/sanity_report.py``'s options, turned into a run of the checks (in this process,
a pool, shards or Dask) and the report written from it (:mod:`sanity_checks.report`)."""
import argparse

from ..checks import CHECKS
from ..checks.spec import command_line_options
from ..files import check_output_folder
from ..report import MIN_EFFECT, check_names, check_settings, describe_run, parse_min_effect, write_outputs
from ..report.about import describe_model


def parser():
    """The command line of ``src/sanity_report.py``; each check's options come from its spec."""
    from ..checks import jobs
    from .options import add_method_module_argument, add_model_and_image_arguments, add_run_arguments

    p = argparse.ArgumentParser(
        prog="sanity_report.py",
        description="Run the sanity checks (cascading randomization top-down and bottom-up, sMPRT, eMPRT, random "
                    "logit, input invariance, pixel-deletion faithfulness) with a uniform-noise and an edge-detector "
                    "control, and write report.md: one table, a verdict per method and check, rules included.")
    p.add_argument("--model", required=True,
                   help="a trained model folder (e.g. models/cnn_mnist), a Keras file (.keras, .h5), a SavedModel or a "
                        "PyTorch model (my_net.py:make_model, torchvision:NAME; see --weights)")
    p.add_argument("--out", required=True, help="folder for report.md, figures and each check's results")
    p.add_argument("--methods", nargs="+", default=None, help="method names (default: all the model supports)")
    add_method_module_argument(p)
    p.add_argument("--images", type=int, default=10, help="how many test images, from the first (default 10)")
    p.add_argument("--checks", nargs="+", default=None, help=f"checks to run (default all: {', '.join(CHECKS)})")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--quick", action="store_true", help="few noise samples and IG steps (smoke test)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="METHOD.SETTING=VALUE",
                   help="change one method setting (repeatable; applied after --quick)")
    for option, default in command_line_options(CHECKS.values()):   # each check's settings (its spec's options)
        p.add_argument(option.flag, **option.argparse_kwargs(default))
    p.add_argument("--min-effect", nargs="+", default=[], metavar="[CHECK=]DELTA",
                   help="minimum effect δ of a pass, as a fraction of the range of the check's score (default "
                        + ", ".join(f"{k} {v:g}" for k, v in MIN_EFFECT.items())
                        + "; faithfulness: of the mean logit drop); a bare number sets every check, "
                          "CHECK=DELTA one (e.g. --min-effect 0.1 faithfulness=0.05); 0: any difference")
    p.add_argument("--data-root", default="data", help="where data sets are found (default data/)")
    p.add_argument("--image-dir", default=None,
                   help="a folder of images (ImageNet models: default doc/data)")
    add_model_and_image_arguments(p, image_dir=False)
    add_run_arguments(p, images_per_task=jobs.IMAGES_PER_TASK)
    return p


def main(argv=None):
    from .. import loading, user_images
    from ..checks import jobs
    from ..experiments.inputs import test_images
    from . import options
    from .options import prepare_threads, run_job

    args = options.take_grouping(parser().parse_args(argv))
    check_output_folder(args.out)  # before any work: a file in the way, a read-only file system
    checks = check_names(args.checks)
    parse_min_effect(args.min_effect)   # refused before any work

    options.load_method_modules(args)
    method_settings = options.method_settings(args)
    prepare_threads(args)
    model = loading.load_from_args(args)
    from ..methods import available_methods
    from ..methods.registry import runnable_methods
    wanted = args.methods or available_methods(model)
    runnable = runnable_methods(model, wanted, method_settings)   # one line per method the model cannot run
    if runnable != list(wanted):
        args.methods = runnable
    data, images, labels = test_images(model, args.images, args.data_root, args.image_dir,
                                       user=user_images.options(args))
    settings = check_settings(args, method_settings)
    job = jobs.checks_job(model, args.model, (data, images, labels), checks=checks, seed=args.seed,
                          check_settings=settings, data_root=args.data_root, image_dir=args.image_dir,
                          images_per_task=args.images_per_task or jobs.IMAGES_PER_TASK,
                          loading=loading.options_from_args(args), user_images=user_images.options(args))
    merged = run_job(job, args)
    if merged is None:   # a shard that left parts missing
        return None
    describe_run(merged)
    about = describe_model(model, args.model, job.config["image_ids"], args.seed, args.quick)
    about["warnings"] = getattr(job, "warnings", {})   # each kind said once on stderr; kept in run.json too
    path, cells = write_outputs(args.out, merged, job.config["image_ids"], args.seed,
                                {c: settings[c] for c in checks}, "", parse_min_effect(args.min_effect), about)
    print(f"wrote {path}")
    return path, cells
