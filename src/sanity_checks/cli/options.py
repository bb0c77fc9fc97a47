"""The options the command-line runners share (images, methods, long runs) and what they turn into:
method settings, thread limits, the run of a job."""
import argparse

from .. import loading, user_images
from ..errors import SanityCheckError
from ..random_streams import NOISE_MODES


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


def add_common_arguments(p):
    p.add_argument("--out", required=True, help="folder for results.csv, summary.json and figures")
    p.add_argument("--images", type=int, default=10, help="how many test images (default 10)")
    p.add_argument("--first-image", type=int, default=0, metavar="I",
                   help="index of the first test image (default 0: the original's first --images; e.g. 10 for "
                        "a second sample of the same size)")
    p.add_argument("--methods", nargs="+", default=None, help="method names (default: all the model supports)")
    add_method_module_argument(p)
    p.add_argument("--metrics", nargs="+", default=None,
                   help="spearman_abs, spearman_signed, ssim, hog (default: all that apply to the mask size)")
    p.add_argument("--seed", type=int, default=0, help="seed of the randomization and the methods' noise")
    p.add_argument("--noise", choices=NOISE_MODES, default="per-state",
                   help="the noisy methods' noise across model states: per-state draws fresh (seeded) noise at "
                        "every state, as the original (default); shared uses one realization for all states")
    p.add_argument("--quick", action="store_true",
                   help="few noise samples and IG steps (smoke test; the defaults are the original settings)")
    p.add_argument("--data-root", default="data", help="where data sets are found (default data/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="METHOD.SETTING=VALUE",
                   help="change one method setting, e.g. --set smoothgrad.nsamples=100 "
                        "--set gradcam.resize=skimage (PAIR 0.2.1's GradCAM upsampling, Guided GradCAM's too; default: "
                        "the original's tf1_bilinear) (repeatable; applied after --quick)")


def add_method_module_argument(p):
    p.add_argument("--method-module", dest="method_modules", action="append", default=[], metavar="FILE.py|MODULE",
                   help="your own methods: a Python file or module whose import registers them with "
                        "sanity_checks.methods.register_method (repeatable; imported by every worker; a run "
                        "records its hash and refuses to resume with another version)")


def load_method_modules(args):
    """Import the --method-module modules (their methods are registered from then on), before any method is named."""
    from ..methods.user_module import load_method_module
    for name in getattr(args, "method_modules", None) or ():
        load_method_module(name)


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
                   help="TensorFlow and torch threads per worker (default: cores / workers; for --dask ADDRESS set "
                        "TF_NUM_INTRAOP_THREADS where the workers start); results are byte-identical between runs "
                        "whose workers use the same number of threads")
    g.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="send the tasks to a Dask scheduler (tcp://HOST:8786), or local:N for a local cluster "
                        "of N workers (needs requirements-dask.txt)")
    g.add_argument("--dask-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="how long to wait for the --dask scheduler to answer (default 30)")
    g.add_argument("--shard", default=None, metavar="K/N",
                   help="run only shard K of N (e.g. one per machine or SLURM array task) into the same --out; "
                        "the shard that finds all parts present writes the results")
    g.add_argument("--merge", action="store_true", help="compute nothing: write the results from the parts")
    g.add_argument("--restart", action="store_true",
                   help="start over: remove OUT's parts and run record first (never with shards running)")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bars (they show only on a terminal anyway: tasks, and the model states and "
                        "method at work inside a task run in this process)")
    g.add_argument("--images-per-task", type=int, default=None,
                   help="images per task and part file: a multiple of 16 or a divisor of it, since images are "
                        "explained in blocks of 16 image ids (a smaller task still computes its block's cheap "
                        "methods; default %d)" % (images_per_task or _default_images_per_task()))


def _default_images_per_task():
    from ..experiments.jobs import IMAGES_PER_TASK
    return IMAGES_PER_TASK


def take_grouping(args):
    """``--blocks layers`` or ``--blocks stages``: how a Keras or PyTorch model's layers make blocks
    (``args.grouping``, a loading option), not block names (``args.blocks`` becomes None: all blocks)."""
    from ..stages import GROUPINGS

    blocks = getattr(args, "blocks", None)
    args.grouping = None
    if blocks and len(blocks) == 1 and blocks[0] in GROUPINGS:
        args.grouping, args.blocks = blocks[0], None
    return args


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
    from .meanwhile import imported_meanwhile
    shard = runs.parse_shard(args.shard) if args.shard else None
    if args.restart:
        runs.forget(args.out)
    backend = None
    if not args.merge:
        if shard and (args.dask or args.workers > 1):
            raise runs.RunError("--shard runs in this process: leave out --workers and --dask")
        backend = runs.make_backend(job.work, args.workers, args.threads, args.dask, args.dask_timeout)
    with imported_meanwhile():   # the figures' imports, while the tasks compute
        return runs.run(job, args.out, backend, shard=shard, merge_only=args.merge, progress=not args.quiet)


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
    from ..methods import QUICK_SETTINGS, method_settings as check_settings

    settings = {m: dict(s) for m, s in (QUICK_SETTINGS if args.quick else {}).items()}
    for text in args.overrides:
        method, setting, value = parse_override(text)
        settings.setdefault(method, {})[setting] = value
        check_settings(method, settings[method])  # unknown methods or settings are refused here
    return settings or None
