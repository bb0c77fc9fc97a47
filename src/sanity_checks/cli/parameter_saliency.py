"""The command-line runners behind ``src/parameter_and_input_saliency.py`` and ``src/run_pruning_check.py``:
argument parsing, loading, running, printing and writing. Where the images come from is
:class:`sanity_checks.parameter_saliency.images.Source`.
"""
import argparse
import os
import time

import numpy as np

from .. import parameter_saliency as ps
from ..errors import SanityCheckError
from ..files import all_or_nothing, check_output_folder, save_figure, save_json
from .. import loading, user_images
from ..parameter_saliency.images import Source
from ..versions import versions


#: Where parameter_and_input_saliency.py puts its figures by default: under results/, which git ignores.
DEFAULT_FIGURE_FOLDER = os.path.join("results", "parameter_saliency")


def add_model_arguments(p):
    p.add_argument("--model", required=True,
                   help="a model folder (e.g. models/cnn_fashion), a Keras file (.keras, .h5) or a tf-keras SavedModel")
    p.add_argument("--imagenet_val_path", default=None,
                   help="ImageFolder-like directory (<root>/<class>/<image>) for models without a data set "
                        "(Inception v3): the reference images and the images --reference_id indexes")
    p.add_argument("--max_reference_images", type=int, default=None, metavar="N",
                   help="use only N evenly spaced reference images for the standardization (default: all)")
    p.add_argument("--dense", action="store_true", help="also profile fully connected layers (per output unit)")
    p.add_argument("--signed", action="store_true",
                   help="aggregate mean(g) instead of mean(|g|) (the original's --signed; statistics match)")
    p.add_argument("--data-root", default="data", help="where data sets are found (default data/)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    loading.add_arguments(p)
    user_images.add_arguments(p)


def load(args):
    """The model and where its images come from."""
    if args.max_reference_images is not None and args.max_reference_images < 2:
        raise SanityCheckError(f"--max_reference_images must be at least 2, got {args.max_reference_images}")
    model = loading.load_from_args(args)
    return model, Source(model, args.data_root, args.imagenet_val_path, user_images.options(args))


def statistics(args, model, source):
    """The ParameterSaliency and its reference statistics (cached beside the model)."""
    saliency = ps.ParameterSaliency(model, dense=args.dense, signed=args.signed)
    start = time.time()
    stats = ps.cached_reference_stats(saliency, source.reference(args.max_reference_images),
                                      loading.cache_folder(args.model), progress=not args.quiet)
    print(f"reference statistics over {stats.settings['reference']['description']}: "
          + ("cached" if stats.from_cache else f"computed in {time.time() - start:.1f} s"))
    return saliency, stats


# ---------------------------------------------------------------------------------- input-space saliency

def input_saliency_args(argv=None):
    p = argparse.ArgumentParser(
        prog="parameter_and_input_saliency.py",
        description="Parameter-space saliency of one image (which filters the model blames for its loss) and the "
                    "input-space saliency of its top-k filters (Levin et al.).")
    add_model_arguments(p)
    p.add_argument("--image_path", default=None,
                   help="an image file (png, jpg, ... or .npy in the model's input range)")
    p.add_argument("--image_target_label", type=int, default=None, help="the true label of --image_path")
    p.add_argument("--reference_id", type=int, default=None,
                   help="index into the model's test set (or the --imagenet_val_path folder)")
    p.add_argument("--k_salient", type=int, default=ps.DEFAULT_K, help="filters to boost (default 10)")
    p.add_argument("--boost_factor", type=float, default=ps.DEFAULT_BOOST, help="boost factor (default 100)")
    p.add_argument("--compare_random", action="store_true", help="boost k random filters instead of the top k")
    p.add_argument("--figure_folder", default=DEFAULT_FIGURE_FOLDER,
                   help=f"where the two figures go (default {DEFAULT_FIGURE_FOLDER}/; the original wrote to figures/)")
    args = p.parse_args(argv)
    if (args.image_path is None) == (args.reference_id is None):
        p.error("give either --image_path (with --image_target_label) or --reference_id")
    if args.image_path is not None and args.image_target_label is None:
        p.error("--image_path needs --image_target_label (the true label)")
    if args.reference_id is not None and args.image_target_label is not None:
        p.error("--image_target_label goes with --image_path only; --reference_id takes the label of that image")
    if args.k_salient < 1:
        p.error(f"--k_salient must be positive, got {args.k_salient}")
    return args


def input_saliency_main(argv=None):
    args = input_saliency_args(argv)
    if args.image_path is not None and not os.path.isfile(args.image_path):
        raise SanityCheckError(f"image {args.image_path} does not exist")
    check_output_folder(args.figure_folder, "--figure_folder")
    model, source = load(args)
    arch = model.architecture
    if args.image_path is not None:
        if not 0 <= args.image_target_label < arch.num_classes:
            raise SanityCheckError(f"--image_target_label must be in 0..{arch.num_classes - 1}, "
                                   f"got {args.image_target_label}")
        image, label = source.read(args.image_path), args.image_target_label
        tag = os.path.splitext(os.path.basename(args.image_path))[0]
    else:
        image, label = source.item(args.reference_id)
        tag = str(args.reference_id)
    saliency, stats = statistics(args, model, source)
    predicted = int(model.predict(image[None])[0])
    top = None
    if args.compare_random:
        top = np.random.default_rng(args.seed).permutation(saliency.n_filters)[:args.k_salient]
    result = saliency.input_saliency(image, label, stats, k=args.k_salient, boost_factor=args.boost_factor, top=top)

    print(f"target class: {source.name(label)}")
    print(f"predicted class: {source.name(predicted)}")
    print(f"Total filters: {saliency.n_filters}")
    print(f"Total layers: {len(saliency.layers)}")
    print(f"{'random' if args.compare_random else 'top'} {len(result.top)} filters (z-score):")
    for index in result.top:
        print(f"  {saliency.describe(index)}: {result.z[index]:.2f}")

    title = f"target {source.name(label)}, predicted {source.name(predicted)}"
    heat = ps.heatmap(result.gradient)
    with all_or_nothing(args.figure_folder):
        written = [
            save_figure(ps.input_saliency_figure(image, heat, source.input_range(), title),
                        os.path.join(args.figure_folder, f"input_saliency_heatmap_{tag}_{arch.name}.png")),
            save_figure(ps.filter_saliency_figure(result.z, saliency.layers, f"Sorted filter saliency ({title})"),
                        os.path.join(args.figure_folder, f"filter_saliency_{tag}_{arch.name}.png")),
        ]
    print("wrote:\n  " + "\n  ".join(written))
    return result


# ---------------------------------------------------------------------------------- pruning check

def pruning_args(argv=None):
    from ..experiments.pruning import MODES

    p = argparse.ArgumentParser(
        prog="run_pruning_check.py",
        description="Zero the most salient filters of misclassified test images, k = 1..K, and count how often the "
                    "prediction moves to the true label, against random and least-salient filters.")
    add_model_arguments(p)
    p.add_argument("--out", required=True, help="folder for results.csv, summary.json and flip_rate.png")
    p.add_argument("--max-images", type=int, default=200, help="misclassified test images to use (default 200)")
    p.add_argument("--k-max", type=int, default=10, help="largest number of filters zeroed (default 10)")
    p.add_argument("--rank", choices=("abs", "signed"), default="abs",
                   help="rank filters by |z| (default, as the public pruning script) or by signed z")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="orders to compare (default all)")
    p.add_argument("--random-draws", type=int, default=5,
                   help="random filter orders per image, averaged in the summary (default 5)")
    args = p.parse_args(argv)
    for flag in ("max_images", "k_max", "random_draws"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}")
    return args


def pruning_main(argv=None):
    from ..experiments import pruning

    args = pruning_args(argv)
    check_output_folder(args.out)
    model, source = load(args)
    saliency, stats = statistics(args, model, source)
    x, y, ids = source.misclassified(args.max_images, args.seed)
    if len(ids) == 0:
        raise SanityCheckError(f"the model classifies every image of the {source.description} correctly")
    print(f"pruning check on {len(ids)} misclassified images of the {source.description}, k = 1..{args.k_max}")
    start = time.time()
    result = pruning.pruning_check(model, saliency, stats, x, y, ids=ids, k_max=args.k_max,
                                   modes=args.modes, rank=args.rank, seed=args.seed,
                                   random_draws=args.random_draws, progress=not args.quiet)
    seconds = time.time() - start
    summary = pruning.summarize(result.rows)
    report = {"model": args.model, "architecture": model.architecture.name, "images": source.description,
              "settings": result.settings, "reference": stats.settings["reference"], "seconds": round(seconds, 1),
              "summary": summary, "versions": versions()}
    title = f"{model.architecture.name} ({args.model}): {len(ids)} misclassified images, rank by " \
            f"{'|z|' if args.rank == 'abs' else 'z'}"
    with all_or_nothing(args.out):
        written = [pruning.write_csv(result.rows, os.path.join(args.out, "results.csv")),
                   save_json(report, os.path.join(args.out, "summary.json")),
                   save_figure(pruning.flip_rate_figure(summary, title), os.path.join(args.out, "flip_rate.png"))]
    k_show = sorted({1, min(5, args.k_max), args.k_max})
    for mode, by_k in summary.items():
        print(f"  {pruning.LABELS[mode]:>14}: " + ", ".join(
            f"k={k} flip {by_k[k]['flip_rate']:.3f} dp(true) {by_k[k]['mean_delta_p_true']:+.3f}" for k in k_show))
    print(f"{seconds:.1f} s; wrote:\n  " + "\n  ".join(written))
    return report
