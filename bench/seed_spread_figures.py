"""The seed-spread study's figures: the seeds and image samples against the original's numbers, and
the cascade's columns against the Adam steps of training."""
import os
import sys

import numpy as np

from sanity_checks.files import save_figure
from sanity_checks.methods import LABELS

from seed_spread_reference import (ORIGINAL_CASCADE, ORIGINAL_CASCADE_FIRST, ORIGINAL_CASCADE_OTHER_RUN,
                                   ORIGINAL_DATA, ORIGINAL_STEPS)
from seed_spread_rows import DATA_LABELS, METHOD_ORDER, first_state, last_state


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
    Fashion-MNIST, orange: GradCAM upsampled as PAIR 0.2.1, not as the original), the original's value as a
    red bar (dashed: its other stored run); rows: cascading last column and data randomization,
    columns: CNN, MLP."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in last_state(rows) if r["variant"] == "default"]
    tests = [t for t in ("cascading", "data") if any(r["test"] == t for r in rows)]
    fig, axes = plt.subplots(len(tests), 2, figsize=(10, 3.3 * len(tests)), squeeze=False,
                             gridspec_kw={"width_ratios": [9, 7]})
    for i, test in enumerate(tests):
        for j, arch in enumerate(("cnn", "mlp")):
            ax = axes[i, j]
            mine = [r for r in rows if r["test"] == test and r["architecture"] == arch and r["noise"] == noise
                    and r["metric"] == "spearman_abs"]
            methods = [m for m in METHOD_ORDER if m != "edge" and any(r["method"] == m for r in mine)]
            samples = sorted({(r["data"], r["gradcam_resize"] == "skimage", r["first_image"]) for r in mine},
                             key=lambda s: (s[0] != "mnist", s[1], s[2]))
            width = 0.6 / max(1, len(samples))
            labelled = set()
            for k, (data, skimage, first) in enumerate(samples):
                color = "tab:green" if data == "fashion" else "tab:orange" if skimage else "tab:blue"
                label = f"{DATA_LABELS[data]} " + (
                    "images 0-9, one dot per seed" if first == 0 else "other 10-image samples") + (
                    ", GradCAM upsampled as PAIR 0.2.1 (skimage), not as the original" if skimage else "")
                for x, method in enumerate(methods):
                    values = [r["mean"] for r in mine if r["method"] == method and r["data"] == data
                              and (r["gradcam_resize"] == "skimage") == skimage and r["first_image"] == first]
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


#: The training figure's panels per architecture: (method, column), the open gaps' last columns first.
TRAINING_FIGURE_PANELS = {"cnn": (("guided_gradcam", "last"), ("ig_smoothgrad", "last"), ("gradient", "first"),
                                  ("guided_backprop", "first")),
                          "mlp": (("guided_backprop", "last"), ("ig_smoothgrad", "last"), ("gradient", "first"),
                                  ("guided_backprop", "first"))}


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
            of_state = last_state(mine) if state == "last" else first_state(mine)
            for data, n_train in series:
                of = [r for r in of_state if r["data"] == data and r["train_images"] == n_train and r["method"] == method]
                steps = sorted({r["steps"] for r in of})
                means = [np.mean([r["mean"] for r in of if r["steps"] == s]) for s in steps]
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
