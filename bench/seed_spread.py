"""The training-seed spread of the MNIST replication numbers, next to the original's (issue 16).

The original trained one model per architecture with no seed, so its numbers are one draw from a
distribution. This study measures that distribution here: for each training seed it trains (or
reuses) the models, runs the cascading randomization (original evaluation: 10 test images,
original settings, each state explaining its own top class) and the data randomization test, on
test images 0-9 (the original's) and 10-19 (a second sample, for the images' share of the
spread), and collects every column of each (one row per run, model state, method and metric) into
one CSV with ``seed``, ``images``, ``noise`` and ``gradcam_resize`` columns, plus the figure: per
method, our seeds as dots and the original's value as a mark.

One command (from the repo root; everything already present is reused, so it also resumes)::

    PYTHONPATH=src nice -n 15 .venv/bin/python bench/seed_spread.py --models models/seeds

Parts:
- training: ``src/train_{cnn,mlp}_models.py`` with the defaults (CNN with ``--reg``), one model per
  (architecture, data set, labels, seed), into ``--models`` as ``<arch>_<data>[_randlabels]_seed<S>``;
  ``--no-train`` skips missing models instead.
- checks: ``src/run_model_randomization.py --mode cascading`` and ``src/run_data_randomization.py``
  with ``--seed S --first-image F --noise NOISE``, into ``--results/<run name>/`` (skipped when its
  ``summary.json`` exists). The methods' noise is seeded by the training seed, so each seed is a
  fresh draw of both the model and the noise, as each run of the original was.
- collection: ``--csv`` (one row per run and method and metric) and ``--figure``; the printed
  tables (mean and min-max over seeds next to the original) and the cost of every part.

Fashion-MNIST (``--data mnist fashion``) adds the cascade on full-data models as a training-data
control (the original has no Fashion-MNIST numbers); random-label models are trained for the data
sets in ``--random-label-data`` (default mnist: the Fashion-MNIST ones take over an hour each).
``--epochs`` (with ``--train-args --max-train N``) trains other budgets (a model missing as
``<arch>_<data>_e<E>_seed<S>`` is also found as the snapshot ``<arch>_<data>_e<N>_seed<S>_e<E>`` that a
longer run saved with ``--save-at E``); ``--training-from CSV ...``
tables and draws the first and last columns of all these runs against the Adam steps of training.

The study's other modules lie beside this script: ``seed_spread_reference`` (the original's numbers),
``seed_spread_rows`` (the rows and the CSV), ``seed_spread_tables`` and ``seed_spread_figures``.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:   # the study's modules beside this script (also when loaded from a file, as the tests do)
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from sanity_checks.files import atomic_path  # noqa: E402

from seed_spread_figures import figure, training_figure  # noqa: E402
from seed_spread_rows import add_states, evaluation, first_state, last_column, last_state, read_csv  # noqa: E402,F401
from seed_spread_rows import training_rows, write_csv  # noqa: E402,F401
from seed_spread_tables import sample_tables, spread_tables, training_table  # noqa: E402

#: The runners' options for PAIR 0.2.1's GradCAM upsampling (scikit-image) instead of the original's PAIR
#: 0.0.4 one (TF1 bilinear, the default); one setting governs Guided GradCAM too.
SKIMAGE_RESIZE = ["--methods", "gradcam", "guided_gradcam", "--set", "gradcam.resize=skimage"]

#: Variants of the original evaluation, for going after a cause with the spread as the yardstick:
#: name -> (extra options of the runners, tests it applies to, the variant its CSV rows carry).
VARIANTS = {
    "default": ([], ("cascading", "data"), "default"),
    # scikit-image's GradCAM upsampling: "default" rows with gradcam_resize "skimage"
    "skimage_resize": (SKIMAGE_RESIZE, ("cascading", "data"), "default"),
    # the trained model's class at every state instead of each state's own top class
    "fixed_class": (["--fixed-class"], ("cascading",), "fixed_class"),
    # both: the fixed-class GradCAM rows made when scikit-image's upsampling was the default
    "fixed_class_skimage": (["--fixed-class", *SKIMAGE_RESIZE], ("cascading",), "fixed_class"),
}


def model_name(arch, data, random_labels, seed, epochs=None):
    return f"{arch}_{data}{'_randlabels' if random_labels else ''}{f'_e{epochs}' if epochs else ''}_seed{seed}"


def run_command(command, log_path):
    """Run ``command`` (output to ``log_path``); its wall time in seconds. Failures stop the study."""
    start = time.time()
    with open(log_path, "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    if done.returncode != 0:
        sys.exit(f"failed (exit {done.returncode}), see {log_path}: {' '.join(command)}")
    return time.time() - start


def ensure_model(args, arch, data, random_labels, seed, costs, epochs=None):
    """The model's folder, trained if missing (None when missing and --no-train); ``epochs``: a
    training length other than the default (the model's name then carries ``_e<epochs>``)."""
    name = model_name(arch, data, random_labels, seed, epochs)
    folder = os.path.join(args.models, name)
    metadata = os.path.join(folder, "metadata.json")
    if not os.path.exists(metadata) and epochs:
        # the snapshot a longer run saved after this many epochs (train_*_models.py --save-at), the same model
        pattern = os.path.join(glob.escape(args.models), model_name(arch, data, random_labels, seed, "*") + f"_e{epochs}")
        found = sorted(f for f in glob.glob(pattern) if os.path.exists(os.path.join(f, "metadata.json")))
        if found:
            folder, metadata = found[0], os.path.join(found[0], "metadata.json")
    if not os.path.exists(metadata):
        if args.no_train or args.collect:
            print(f"missing, skipped: {folder}", flush=True)
            return None
        command = [sys.executable, os.path.join("src", f"train_{arch}_models.py"), "--data", data,
                   "--savemodelpath", args.models, "--seed", str(seed), "--name", name, "--data-root", args.data_root]
        command += ["--reg"] if arch == "cnn" else []
        command += ["--randlabels"] if random_labels else []
        command += ["--nepochs", str(epochs)] if epochs else []
        command += args.train_args
        print(f"training {name} ...", flush=True)
        os.makedirs(args.results, exist_ok=True)
        run_command(command, os.path.join(args.results, f"train_{name}.log"))
    with open(metadata) as f:
        info = json.load(f)
    costs.append({"part": f"train {arch} {data} {'random' if random_labels else 'true'} labels"
                  + (f" {epochs} epochs" if epochs else ""), "name": name,
                  "seconds": info.get("train_seconds")})
    return folder


def ensure_run(args, test, folder, random_folder, seed, first, noise, costs, variant="default"):
    """Run one check into its results folder unless done; the folder."""
    name = f"{os.path.basename(folder)}_{test}_images{first}-{first + args.images - 1}_{noise}" + \
        ("" if variant == "default" else f"_{variant}")
    out = os.path.join(args.results, name)
    seconds_file = os.path.join(out, "seconds.json")
    if not os.path.exists(os.path.join(out, "summary.json")):
        if args.collect:
            return None
        if test == "cascading":
            command = [sys.executable, os.path.join("src", "run_model_randomization.py"), "--model", folder,
                       "--mode", "cascading"]
        else:
            command = [sys.executable, os.path.join("src", "run_data_randomization.py"), "--model", folder,
                       "--random-model", random_folder]
        command += ["--out", out, "--seed", str(seed), "--first-image", str(first), "--images", str(args.images),
                    "--noise", noise, "--data-root", args.data_root] + (["--quick"] if args.quick else [])
        command += VARIANTS[variant][0]
        print(f"running {name} ...", flush=True)
        os.makedirs(args.results, exist_ok=True)
        seconds = run_command(command, os.path.join(args.results, f"{name}.log"))
        with atomic_path(seconds_file) as tmp, open(tmp, "w") as f:
            json.dump({"seconds": round(seconds, 1)}, f)
    if os.path.exists(seconds_file):
        with open(seconds_file) as f:
            costs.append({"part": f"{test} {re.sub(r'_seed[0-9]+', '', os.path.basename(folder))}"
                          + ("" if variant == "default" else f" ({variant})"), "name": name,
                          "seconds": json.load(f)["seconds"]})
    return out

def print_costs(costs):
    print("\ncost (seconds; training times from each model's metadata.json, checks as run here):")
    parts = {}
    for c in costs:
        if c["seconds"] is not None:
            parts.setdefault(c["part"], []).append(c["seconds"])
    for part, seconds in parts.items():
        print(f"  {part:<45} {len(seconds)} x, mean {np.mean(seconds):7.0f} s, total {np.sum(seconds) / 60:6.1f} min")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=os.path.join("models", "seeds"), help="folder of the seed models (default models/seeds)")
    p.add_argument("--results", default=os.path.join("results", "seed_spread"), help="folder of the runs' outputs")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds (default 0 1 2)")
    p.add_argument("--archs", nargs="+", choices=["cnn", "mlp"], default=["cnn", "mlp"])
    p.add_argument("--data", nargs="+", choices=["mnist", "fashion"], default=["mnist"],
                   help="data sets of the true-label models (default mnist; fashion adds a training-data control)")
    p.add_argument("--random-label-data", nargs="*", choices=["mnist", "fashion"], default=["mnist"],
                   help="data sets on which random-label models are trained and the data randomization runs")
    p.add_argument("--first-images", nargs="+", type=int, default=[0, 10],
                   help="first test image of each sample (default 0 10: images 0-9 and 10-19)")
    p.add_argument("--images", type=int, default=10, help="images per sample (default 10, as the original)")
    p.add_argument("--noise", nargs="+", choices=["per-state", "shared"], default=["per-state"],
                   help="the noisy methods' noise across model states (default per-state, as the original)")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["default"],
                   help="default: the original evaluation; skimage_resize: GradCAM upsampled as PAIR 0.2.1 (GradCAM "
                        "and Guided GradCAM only); fixed_class: the trained model's class at every state; "
                        "fixed_class_skimage: both")
    p.add_argument("--epochs", nargs="+", type=int, default=None,
                   help="instead of the seed study: models trained for each of these epoch counts (named "
                        "<arch>_<data>_e<E>_seed<S>; cascading only): the training length's effect on the last column")
    p.add_argument("--no-train", action="store_true", help="skip missing models instead of training them")
    p.add_argument("--collect", action="store_true",
                   help="train and run nothing: collect the runs already in --results into the CSV and figure")
    p.add_argument("--add-states", action="store_true",
                   help="keep every row --csv holds and add the model states it lacks of the runs it holds (e.g. the middle "
                        "columns of runs it holds only the first and last of); prints how far the states both hold "
                        "differ. The figure is left as it is")
    p.add_argument("--quick", action="store_true", help="pass --quick to the checks (smoke test only)")
    p.add_argument("--train-args", nargs=argparse.REMAINDER, default=[],
                   help="extra training options, last on the line (e.g. --train-args --nepochs 2 --max-train 2000)")
    p.add_argument("--training-from", nargs="+", metavar="CSV", default=None,
                   help="instead of running: the training table and figure (--training-figure) from these CSVs "
                        "(the seed study's and the --epochs sweeps'): the first and last columns against the Adam "
                        "steps, per data set and number of training images")
    p.add_argument("--training-figure", default=os.path.join("doc", "figures", "seed_spread_training.png"))
    p.add_argument("--data-root", default="data")
    p.add_argument("--csv", default=os.path.join("doc", "seed_spread.csv"))
    p.add_argument("--figure", default=os.path.join("doc", "figures", "seed_spread.png"))
    args = p.parse_args(argv)
    args.models, args.results = os.path.abspath(args.models), os.path.abspath(args.results)
    args.data_root = os.path.abspath(args.data_root)

    if args.training_from:
        rows = training_rows(args.training_from)
        print(training_table(rows))
        print("wrote", training_figure(rows, args.training_figure))
        return rows
    rows, costs = [], []
    sweep_rows = []   # --epochs: the training length's effect (cascading only)
    for seed in args.seeds:
        for data in args.data:
            for arch in args.archs:
                for epochs in args.epochs or [None]:
                    folder = ensure_model(args, arch, data, False, seed, costs, epochs)
                    random_folder = (ensure_model(args, arch, data, True, seed, costs)
                                     if data in args.random_label_data and epochs is None else None)
                    for variant in args.variants:
                        extra, tests, label = VARIANTS[variant]
                        if "gradcam" in extra and arch != "cnn":
                            continue  # GradCAM needs a convolutional layer
                        for noise in args.noise:
                            for first in args.first_images:
                                for test, models in (("cascading", (folder, None)), ("data", (folder, random_folder))):
                                    if test in tests and all(models[:1 + (test == "data")]):
                                        out = ensure_run(args, test, *models, seed, first, noise, costs, variant)
                                        if out is None:
                                            continue
                                        found = last_column(out, test, data, arch, seed, first, args.images, noise,
                                                            label)
                                        (sweep_rows if epochs else rows).extend(found)
    if args.epochs:
        if not sweep_rows:
            sys.exit("no results: no models present (and --no-train)")
        print("wrote", write_csv(sweep_rows, args.csv))
        print(training_table(sweep_rows))
        print_costs(costs)
        return sweep_rows
    if not rows:
        sys.exit("no results: no models present (and --no-train)")
    if args.add_states:
        merged, n_added, largest = add_states(read_csv(args.csv), rows)
        print("wrote", write_csv(merged, args.csv), f"({n_added} rows added; the states both hold differ by at most "
              + ("-" if largest is None else f"{largest:.6f}") + " in their mean)")
        print_costs(costs)
        return merged
    print("wrote", write_csv(rows, args.csv))
    print("wrote", figure(rows, args.noise[0], args.figure))
    for variant in args.variants:
        for noise in args.noise:
            extra, _, label = VARIANTS[variant]
            print(spread_tables(rows, noise, *((label, "skimage") if SKIMAGE_RESIZE[-1] in extra else (label,))))
    for noise in args.noise:
        print(sample_tables(rows, noise))
    print_costs(costs)
    return rows


if __name__ == "__main__":
    main()
