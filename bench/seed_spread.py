"""The training-seed spread of the MNIST replication numbers, next to the original's (issue 16).

The original trained one model per architecture with no seed, so its numbers are one draw from a
distribution. This study measures that distribution here: for each training seed it trains (or
reuses) the models, runs the cascading randomization (original evaluation: 10 test images,
original settings, each state explaining its own top class) and the data randomization test, on
test images 0-9 (the original's) and 10-19 (a second sample, for the images' share of the
spread), and collects the last column of each into one CSV with a ``seed`` and an ``images``
column, plus the figure: per method, our seeds as dots and the original's value as a mark.

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
``--epochs`` (with ``--train-args --max-train N``) trains other budgets; ``--training-from CSV ...``
tables and draws the first and last columns of all these runs against the Adam steps of training.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.files import atomic_path, save_figure  # noqa: E402
from sanity_checks.methods import LABELS  # noqa: E402

#: REFERENCE A6: the last column (all blocks randomized) of the original notebooks, mean |Spearman|.
ORIGINAL_CASCADE = {
    "cnn": {"gradient": 0.082, "smoothgrad": 0.213, "guided_backprop": 0.444, "gradcam": 0.299,
            "guided_gradcam": 0.282, "integrated_gradients": 0.992, "gradient_x_input": 0.992,
            "ig_smoothgrad": 0.361},
    "mlp": {"gradient": 0.020, "smoothgrad": 0.025, "guided_backprop": 0.044, "integrated_gradients": 0.993,
            "gradient_x_input": 0.993, "ig_smoothgrad": 0.345},
}
#: The other stored run of the original CNN notebook (its repository at commit e59acba; ORIGINAL_CASCADE
#: is from commit e7202036, REFERENCE A6): the original's own run-to-run spread, last column.
ORIGINAL_CASCADE_OTHER_RUN = {
    "cnn": {"gradient": 0.099, "smoothgrad": 0.213, "guided_backprop": 0.451, "gradcam": 0.151,
            "guided_gradcam": 0.246, "integrated_gradients": 0.992, "gradient_x_input": 0.992,
            "ig_smoothgrad": 0.338},
}
#: The original notebooks' first column (only the top block re-initialized), mean |Spearman| (the CNN's
#: from commit e7202036 as ORIGINAL_CASCADE; its other run gives 0.642, 0.582, 0.902).
ORIGINAL_CASCADE_FIRST = {
    "cnn": {"gradient": 0.601, "smoothgrad": 0.536, "guided_backprop": 0.888},
    "mlp": {"gradient": 0.234, "smoothgrad": 0.255, "guided_backprop": 0.903},
}
#: REFERENCE A7: the original's random-label bar charts (digit 0), |Spearman| read off the PNGs (approximate).
ORIGINAL_DATA = {
    "cnn": {"gradient": 0.17, "smoothgrad": 0.24, "guided_backprop": 0.57, "gradcam": 0.02, "guided_gradcam": 0.57,
            "integrated_gradients": 1.0, "ig_smoothgrad": 0.45, "gradient_x_input": 1.0},
    "mlp": {"gradient": 0.60, "smoothgrad": 0.59, "guided_backprop": 0.70, "integrated_gradients": 0.99,
            "ig_smoothgrad": 0.80, "gradient_x_input": 0.99},
}
#: REFERENCE A4 (paper, App. B): the original models' test accuracy.
ORIGINAL_ACCURACY = {"cnn": 0.992, "mlp": 0.987}
#: REFERENCE A4: the original trained on 55,000 digits, 50 epochs of batches of 50.
ORIGINAL_STEPS = 55_000
DATA_LABELS = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
METHOD_ORDER = ["gradient", "smoothgrad", "vargrad", "gradient_x_input", "integrated_gradients", "ig_smoothgrad",
                "guided_backprop", "gradcam", "guided_gradcam", "edge"]
METRICS = ("spearman_abs", "spearman_signed")
CSV_COLUMNS = ("test", "data", "architecture", "seed", "images", "first_image", "noise", "variant", "epochs",
               "train_images", "steps", "test_accuracy", "method",
               "metric", "step", "mean", "std", "n", "original", "first_mean")
#: Variants of the original evaluation, for going after a cause with the spread as the yardstick:
#: name -> (extra options of the runners, tests it applies to).
VARIANTS = {
    "default": ([], ("cascading", "data")),
    # the original's PAIR 0.0.4 GradCAM upsampling (TF1 bilinear) instead of PAIR 0.2.1's
    "tf1_resize": (["--methods", "gradcam", "guided_gradcam", "--set", "gradcam.resize=tf1_bilinear",
                    "--set", "guided_gradcam.resize=tf1_bilinear"], ("cascading", "data")),
    # the trained model's class at every state instead of each state's own top class
    "fixed_class": (["--fixed-class"], ("cascading",)),
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
            costs.append({"part": f"{test} {os.path.basename(folder).split('_seed')[0]}"
                          + ("" if variant == "default" else f" ({variant})"), "name": name,
                          "seconds": json.load(f)["seconds"]})
    return out


def last_column(out, test, data, arch, seed, first, n_images, noise, variant="default"):
    """The CSV rows of one run: per method and metric, the mean over images at the last state."""
    with open(os.path.join(out, "summary.json")) as f:
        everything = json.load(f)
    metadata = {}   # the model's, for its training length and test accuracy (when the folder is still there)
    if os.path.exists(os.path.join(everything.get("model", ""), "metadata.json")):
        with open(os.path.join(everything["model"], "metadata.json")) as f:
            metadata = json.load(f)
    epochs, n_train = metadata.get("epochs", ""), metadata.get("n_train", "")
    # Adam steps: one per batch, n_train // batch_size batches per epoch (sanity_checks.train.batches)
    steps = epochs * max(1, n_train // metadata["batch_size"]) if epochs and n_train and "batch_size" in metadata else ""
    accuracy = metadata.get("accuracy", {}).get("test", "")
    summary = everything["summary"]
    # summary.json's keys are sorted: the last state is named by the settings
    step = everything["settings"]["blocks"][-1] if test == "cascading" else "random labels"
    # the cascade's first state (only the top block random): where the trained models differ first
    first_step = everything["settings"]["blocks"][0] if test == "cascading" else None
    original = (ORIGINAL_CASCADE if test == "cascading" else ORIGINAL_DATA)[arch] if data == "mnist" else {}
    rows = []
    for method in [m for m in METHOD_ORDER if m in summary]:
        for metric in METRICS:
            stats = summary[method][step][metric]
            rows.append({"test": test, "data": data, "architecture": arch, "seed": seed,
                         "images": f"{first}-{first + n_images - 1}", "first_image": first, "noise": noise,
                         "variant": variant, "epochs": epochs, "train_images": n_train, "steps": steps,
                         "test_accuracy": accuracy,
                         "method": method, "metric": metric, "step": step, "mean": round(stats["mean"], 6),
                         "std": round(stats["std"], 6), "n": stats["n"],
                         "original": original.get(method, "") if metric == "spearman_abs" else "",
                         "first_mean": round(summary[method][first_step][metric]["mean"], 6) if first_step else ""})
    return rows


def write_csv(rows, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def inside(original, values):
    """Whether the original's number (three decimals) lies in [min, max] of ``values`` at that
    precision: 'yes', or 'no (<original minus the nearer bound>)'."""
    low, high = round(min(values), 3), round(max(values), 3)
    return "yes" if low <= original <= high else f"no ({original - (high if original > high else low):+.3f})"


def spread_tables(rows, noise, variant="default"):
    """Markdown tables: per test and architecture, per method, the original and our mean [min, max]
    over seeds for each image sample, and whether the original falls inside the seeds' range."""
    lines = []
    for test, title in (("cascading", "cascading randomization, last column"),
                        ("data", "data randomization (random-label model)")):
        for data, arch in [(d, a) for d in DATA_LABELS for a in ("cnn", "mlp")]:
            mine = [r for r in rows if r["test"] == test and r["architecture"] == arch and r["data"] == data
                    and r["noise"] == noise and r["variant"] == variant]
            if not mine:
                continue
            samples = sorted({r["images"] for r in mine}, key=lambda s: int(s.split("-")[0]))
            seeds = sorted({r["seed"] for r in mine})
            lines += ["", f"{arch.upper()} {DATA_LABELS[data]}, {title}, noise {noise}, {variant}, seeds {', '.join(map(str, seeds))}:", "",
                      "| method | original ABS | " + " | ".join(f"ABS images {s}" for s in samples)
                      + " | original inside? | " + " | ".join(f"signed images {s}" for s in samples) + " |",
                      "|---|---|" + "---|" * (2 * len(samples) + 1)]
            for method in [m for m in METHOD_ORDER if any(r["method"] == m for r in mine)]:
                cells, signed, everything = [], [], []
                for sample in samples:
                    for metric, out in (("spearman_abs", cells), ("spearman_signed", signed)):
                        values = [r["mean"] for r in mine if r["method"] == method and r["images"] == sample
                                  and r["metric"] == metric]
                        out.append(f"{np.mean(values):.3f} [{min(values):.3f}, {max(values):.3f}]")
                        if metric == "spearman_abs":
                            everything += values
                original = next((r["original"] for r in mine if r["method"] == method and r["original"] != ""), "")
                if original == "":
                    verdict = "–"
                elif len(seeds) < 2:   # one seed: no spread to fall inside, only the difference
                    verdict = f"one seed ({original - np.mean(everything):+.3f})"
                else:
                    verdict = inside(original, everything)
                lines.append(f"| {LABELS[method]} | {original if original != '' else '–'} | " + " | ".join(cells)
                             + f" | {verdict} | " + " | ".join(signed) + " |")
    return "\n".join(lines)


def sample_tables(rows, noise, min_samples=3):
    """Markdown: for each model (architecture, seed) run on at least ``min_samples`` disjoint image
    samples, per method the spread of the 10-image mean over the samples (the image sample's share of
    the spread), and whether the original's number falls inside it."""
    lines = []
    for test in ("cascading", "data"):
        for arch in ("cnn", "mlp"):
            mine = [r for r in rows if r["test"] == test and r["architecture"] == arch and r["data"] == "mnist"
                    and r["noise"] == noise and r["variant"] == "default" and r["metric"] == "spearman_abs"]
            for seed in sorted({r["seed"] for r in mine}):
                of_seed = [r for r in mine if r["seed"] == seed]
                samples = sorted({r["first_image"] for r in of_seed})
                if len(samples) < min_samples:
                    continue
                lines += ["", f"{arch.upper()} MNIST seed {seed}, {test}, last column, {len(samples)} disjoint samples "
                          f"of {of_seed[0]['n']} test images (first images {', '.join(map(str, samples))}), noise {noise}:", "",
                          "| method | original ABS | mean over samples | std | [min, max] | original inside? |",
                          "|---|---|---|---|---|---|"]
                original_of = ORIGINAL_CASCADE if test == "cascading" else ORIGINAL_DATA
                for method in [m for m in METHOD_ORDER if any(r["method"] == m for r in of_seed)]:
                    values = [r["mean"] for r in of_seed if r["method"] == method]
                    original = original_of[arch].get(method)
                    verdict = "–" if original is None else inside(original, values)
                    lines.append(f"| {LABELS[method]} | {'–' if original is None else original} | {np.mean(values):.3f} "
                                 f"| {np.std(values, ddof=1):.3f} | [{min(values):.3f}, {max(values):.3f}] | {verdict} |")
    return "\n".join(lines)


def figure_legend(fig, axes, ncol):
    """One legend below all panels, each label once; the share of the figure's height it takes."""
    handles, labels = [], []
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    rows = -(-len(labels) // ncol)
    height = fig.get_figheight()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    return min(0.4, (0.16 * rows + 0.05) / height)


def figure(rows, noise, path):
    """Per method: our seeds as dots (filled: images 0-9, open: other 10-image samples, green:
    Fashion-MNIST, orange: GradCAM upsampled as the original's PAIR 0.0.4), the original's value as a
    red bar (dashed: its other stored run); rows: cascading last column and data randomization,
    columns: CNN, MLP."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tests = [t for t in ("cascading", "data") if any(r["test"] == t for r in rows)]
    fig, axes = plt.subplots(len(tests), 2, figsize=(10, 3.3 * len(tests)), squeeze=False,
                             gridspec_kw={"width_ratios": [9, 7]})
    for i, test in enumerate(tests):
        for j, arch in enumerate(("cnn", "mlp")):
            ax = axes[i, j]
            mine = [r for r in rows if r["test"] == test and r["architecture"] == arch and r["noise"] == noise
                    and r["metric"] == "spearman_abs" and r["variant"] in ("default", "tf1_resize")]
            methods = [m for m in METHOD_ORDER if m != "edge"
                       and any(r["method"] == m and r["variant"] == "default" for r in mine)]
            samples = sorted({(r["data"], r["variant"], r["first_image"]) for r in mine},
                             key=lambda s: (s[0] != "mnist", s[1] != "default", s[2]))
            width = 0.6 / max(1, len(samples))
            labelled = set()
            for k, (data, variant, first) in enumerate(samples):
                color = "tab:green" if data == "fashion" else "tab:orange" if variant == "tf1_resize" else "tab:blue"
                label = f"{DATA_LABELS[data]} " + (
                    "images 0-9, one dot per seed" if first == 0 else "other 10-image samples") + (
                    ", GradCAM upsampled as PAIR 0.0.4 (the original's)" if variant == "tf1_resize" else "")
                for x, method in enumerate(methods):
                    values = [r["mean"] for r in mine if r["method"] == method and r["data"] == data
                              and r["variant"] == variant and r["first_image"] == first]
                    xs = x - 0.3 + width * (k + 0.5) + np.linspace(-0.25, 0.25, len(values)) * width
                    ax.scatter(xs, values, s=14, zorder=3, edgecolors=color,
                               facecolors=color if first == 0 else "none", linewidths=1,
                               label=None if label in labelled else label)
                    labelled.add(label)
            for x, method in enumerate(methods):
                original = (ORIGINAL_CASCADE if test == "cascading" else ORIGINAL_DATA)[arch].get(method)
                if original is not None:
                    ax.hlines(original, x - 0.38, x + 0.38, colors="tab:red", linewidth=2, zorder=4,
                              label="original" if not ax.get_legend_handles_labels()[1].count("original")
                              else None)
                other = ORIGINAL_CASCADE_OTHER_RUN.get(arch, {}).get(method) if test == "cascading" else None
                if other is not None:
                    ax.hlines(other, x - 0.38, x + 0.38, colors="tab:red", linewidth=1.2, linestyles="dashed",
                              zorder=4, label="original, its other stored run"
                              if not ax.get_legend_handles_labels()[1].count("original, its other stored run") else None)
            ax.set_xticks(range(len(methods)))
            ax.set_xticklabels([LABELS[m] for m in methods], rotation=35, ha="right", fontsize=8)
            ax.set_ylim(-0.1, 1.05)
            ax.grid(axis="y", alpha=0.3)
            ax.set_title(f"{arch.upper()}: " + ("cascading randomization, all layers random" if test == "cascading"
                                                else "data randomization (random-label model)"), fontsize=9)
            if j == 0:
                ax.set_ylabel("mean |Spearman| over 10 images")
    fig.suptitle(f"Training-seed and image-sample spread (noise {noise}) against the original's numbers",
                 fontsize=10)
    bottom = figure_legend(fig, axes, ncol=2)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return save_figure(fig, path, dpi=90)


def print_costs(costs):
    print("\ncost (seconds; training times from each model's metadata.json, checks as run here):")
    parts = {}
    for c in costs:
        if c["seconds"] is not None:
            parts.setdefault(c["part"], []).append(c["seconds"])
    for part, seconds in parts.items():
        print(f"  {part:<45} {len(seconds)} x, mean {np.mean(seconds):7.0f} s, total {np.sum(seconds) / 60:6.1f} min")


def training_table(rows):
    """Markdown: per architecture and image sample, the last column's mean |Spearman| (over seeds)
    per method, and the first column's where the original has one, per training condition (data set, training images, epochs; the Adam steps follow),
    with the models' test accuracy, next to the original's (MNIST, 55,000 digits, 50 epochs)."""
    lines = []
    for arch in ("cnn", "mlp"):
        samples = sorted({r["images"] for r in rows if r["architecture"] == arch}, key=lambda s: int(s.split("-")[0]))
        for images in samples:
            mine = [r for r in rows if r["architecture"] == arch and r["images"] == images
                    and r["metric"] == "spearman_abs"]
            conditions = sorted({(r["data"], r["train_images"], r["epochs"]) for r in mine},
                                key=lambda c: (c[0] != "mnist", c[0], c[1] or 0, c[2] or 0))
            of = {c: [r for r in mine if (r["data"], r["train_images"], r["epochs"]) == c] for c in conditions}
            lines += ["", f"{arch.upper()}, cascading last column by training, images {images} (mean over seeds):", "",
                      "| method | original (MNIST) | " + " | ".join(
                          f"{DATA_LABELS[d]}{f' {n:,} images' if n else ''}, {e} epochs" for d, n, e in conditions) + " |",
                      "|---|---|" + "---|" * len(conditions)]
            lines.append("| seeds | 1 | " + " | ".join(str(len({r["seed"] for r in of[c]})) for c in conditions) + " |")
            steps = [of[c][0]["steps"] for c in conditions]
            lines.append(f"| Adam steps | {ORIGINAL_STEPS:,} | " + " | ".join(f"{s:,}" if s else "–" for s in steps) + " |")
            accuracy = [np.mean([r["test_accuracy"] for r in of[c]]) for c in conditions]
            lines.append(f"| test accuracy | {ORIGINAL_ACCURACY[arch]} | " + " | ".join(f"{a:.3f}" for a in accuracy) + " |")
            for method in [m for m in METHOD_ORDER if any(r["method"] == m for r in mine)]:
                values = [np.mean([r["mean"] for r in of[c] if r["method"] == method] or [np.nan]) for c in conditions]
                lines.append(f"| {LABELS[method]} | {ORIGINAL_CASCADE[arch].get(method, '–')} | "
                             + " | ".join("–" if np.isnan(v) else f"{v:.3f}" for v in values) + " |")
            for method, original in ORIGINAL_CASCADE_FIRST[arch].items():   # only the top block random
                values = [np.mean([r["first_mean"] for r in of[c] if r["method"] == method and r["first_mean"] != ""]
                                  or [np.nan]) for c in conditions]
                if not all(np.isnan(values)):
                    lines.append(f"| {LABELS[method]}, first column | {original} | "
                                 + " | ".join("–" if np.isnan(v) else f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)


#: The training figure's panels per architecture: (method, column), the open gaps' last columns first.
TRAINING_FIGURE_PANELS = {"cnn": (("guided_gradcam", "last"), ("ig_smoothgrad", "last"), ("gradient", "first"),
                                  ("guided_backprop", "first")),
                          "mlp": (("guided_backprop", "last"), ("ig_smoothgrad", "last"), ("gradient", "first"),
                                  ("guided_backprop", "first"))}


def read_csv(path):
    """The rows of a CSV written by ``write_csv``, numbers as numbers (empty cells stay '')."""
    def number(text):
        if text == "":
            return ""
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    with open(path, newline="") as f:
        return [{k: (v if k in ("images", "step") else number(v)) for k, v in row.items()} for row in csv.DictReader(f)]


def training_rows(paths, first_images=(0, 10)):
    """The cascading runs (default evaluation, per-state noise) of these CSVs on the given image
    samples, each run once (a model reached from two studies, e.g. the 50-epoch seed-0 MLP, counts once)."""
    rows, seen = [], set()
    for path in paths:
        for r in read_csv(path):
            key = tuple(r[k] for k in ("data", "architecture", "seed", "images", "epochs", "train_images", "method",
                                       "metric"))
            if (r["test"] == "cascading" and r["variant"] == "default" and r["noise"] == "per-state"
                    and r["first_image"] in first_images and key not in seen):
                seen.add(key)
                rows.append(r)
    return rows


def training_figure(rows, path, first_image=0):
    """Per architecture, method and column (``TRAINING_FIGURE_PANELS``: the cascade's last column, all
    blocks random, or its first, only the top block random): the mean |Spearman| (over seeds; one
    sample of test images) against the Adam steps of training, one line per data set and number of
    training images, and the original (MNIST, 55,000 digits) as a red star."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    # ``rows`` as training_rows gives them (cascading, default evaluation, per-state noise)
    rows = [r for r in rows if r["metric"] == "spearman_abs" and r["first_image"] == first_image and r["steps"] != ""]
    archs = [a for a in ("cnn", "mlp") if any(r["architecture"] == a for r in rows)]
    if not archs:
        sys.exit("no cascading runs with a training length in these CSVs")
    n_cols = max(len(TRAINING_FIGURE_PANELS[a]) for a in archs)
    fig, axes = plt.subplots(len(archs), n_cols, figsize=(2.6 * n_cols, 2.6 * len(archs)), squeeze=False,
                             sharex=True)
    styles = {"mnist": ("tab:blue", "o", "-"), "fashion": ("tab:green", "s", "--")}
    for i, arch in enumerate(archs):
        mine = [r for r in rows if r["architecture"] == arch]
        series = sorted({(r["data"], r["train_images"]) for r in mine}, key=lambda c: (c[0] != "mnist", c[1]))
        for j, (method, state) in enumerate(TRAINING_FIGURE_PANELS[arch]):
            ax = axes[i, j]
            key = "mean" if state == "last" else "first_mean"
            for data, n_train in series:
                of = [r for r in mine if r["data"] == data and r["train_images"] == n_train and r["method"] == method
                      and r[key] != ""]
                steps = sorted({r["steps"] for r in of})
                means = [np.mean([r[key] for r in of if r["steps"] == s]) for s in steps]
                color, marker, line = styles[data]
                ax.plot(steps, means, color=color, marker=marker, linestyle=line, markersize=5,
                        markerfacecolor=color if n_train > 10_000 else "white",
                        label=f"{DATA_LABELS[data]}, {n_train:,} training images")
            original = (ORIGINAL_CASCADE if state == "last" else ORIGINAL_CASCADE_FIRST)[arch].get(method)
            if original is not None:
                ax.plot([ORIGINAL_STEPS], [original], marker="*", color="tab:red", markersize=11, linestyle="none",
                        label="original (MNIST, 55,000 digits)")
            ax.set_xscale("log")
            ax.set_xlim(800, 100_000)
            ax.set_xticks([1_000, 3_000, 10_000, 30_000, 100_000], ["1k", "3k", "10k", "30k", "100k"])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_ylim(-0.05, 1.0)
            ax.grid(alpha=0.3)
            ax.set_title(f"{arch.upper()} {LABELS[method]}, {state} column", fontsize=9)
            if i == len(archs) - 1:
                ax.set_xlabel("Adam steps of training (batch 50)", fontsize=8)
            if j == 0:
                ax.set_ylabel("mean |Spearman|", fontsize=8)
        for j in range(len(TRAINING_FIGURE_PANELS[arch]), n_cols):
            axes[i, j].axis("off")
    fig.suptitle(f"Cascading randomization against how the model was trained (last column: all blocks random; "
                 f"first: only the top block; test images {first_image}-{first_image + 9})", fontsize=10)
    bottom = figure_legend(fig, axes, ncol=3)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return save_figure(fig, path, dpi=90)


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
                   help="default: the original evaluation; tf1_resize: GradCAM upsampled as PAIR 0.0.4 (GradCAM "
                        "and Guided GradCAM only); fixed_class: the trained model's class at every state")
    p.add_argument("--epochs", nargs="+", type=int, default=None,
                   help="instead of the seed study: models trained for each of these epoch counts (named "
                        "<arch>_<data>_e<E>_seed<S>; cascading only): the training length's effect on the last column")
    p.add_argument("--no-train", action="store_true", help="skip missing models instead of training them")
    p.add_argument("--collect", action="store_true",
                   help="train and run nothing: collect the runs already in --results into the CSV and figure")
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
                        extra, tests = VARIANTS[variant]
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
                                                            variant)
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
    print("wrote", write_csv(rows, args.csv))
    print("wrote", figure(rows, args.noise[0], args.figure))
    for variant in args.variants:
        for noise in args.noise:
            print(spread_tables(rows, noise, variant))
    for noise in args.noise:
        print(sample_tables(rows, noise))
    print_costs(costs)
    return rows


if __name__ == "__main__":
    main()
