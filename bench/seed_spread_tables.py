"""The seed-spread study's printed tables (Markdown): the seeds' spread, the image samples' spread and
the training comparison, each next to the original's numbers."""
import numpy as np

from sanity_checks.methods import LABELS

from seed_spread_reference import (ORIGINAL_ACCURACY, ORIGINAL_CASCADE, ORIGINAL_CASCADE_FIRST, ORIGINAL_DATA,
                                   ORIGINAL_STEPS)
from seed_spread_rows import DATA_LABELS, METHOD_ORDER, evaluation, first_state, last_state


def inside(original, values):
    """Whether the original's number (three decimals) lies in [min, max] of ``values`` at that
    precision: 'yes', or 'no (<original minus the nearer bound>)'."""
    low, high = round(min(values), 3), round(max(values), 3)
    return "yes" if low <= original <= high else f"no ({original - (high if original > high else low):+.3f})"


def spread_tables(rows, noise, variant="default", resize="tf1_bilinear"):
    """Markdown tables: per test and architecture, per method, the original and our mean [min, max]
    over seeds for each image sample (last column; GradCAM upsampled as ``resize``), and whether the
    original falls inside the seeds' range."""
    rows = last_state(evaluation(rows, variant, resize))
    lines = []
    for test, title in (("cascading", "cascading randomization, last column"),
                        ("data", "data randomization (random-label model)")):
        for data, arch in [(d, a) for d in DATA_LABELS for a in ("cnn", "mlp")]:
            mine = [r for r in rows if r["test"] == test and r["architecture"] == arch and r["data"] == data
                    and r["noise"] == noise]
            if not mine:
                continue
            samples = sorted({r["images"] for r in mine}, key=lambda s: int(s.split("-")[0]))
            seeds = sorted({r["seed"] for r in mine})
            lines += ["", f"{arch.upper()} {DATA_LABELS[data]}, {title}, noise {noise}, {variant}, GradCAM {resize}, seeds {', '.join(map(str, seeds))}:", "",
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


def sample_tables(rows, noise, min_samples=3, resize="tf1_bilinear"):
    """Markdown: for each model (architecture, seed) run on at least ``min_samples`` disjoint image
    samples, per method the spread of the 10-image mean over the samples (the image sample's share of
    the spread), and whether the original's number falls inside it."""
    rows = last_state(evaluation(rows, "default", resize))
    lines = []
    for test in ("cascading", "data"):
        for arch in ("cnn", "mlp"):
            mine = [r for r in rows if r["test"] == test and r["architecture"] == arch and r["data"] == "mnist"
                    and r["noise"] == noise and r["metric"] == "spearman_abs"]
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


def training_table(rows):
    """Markdown: per architecture and image sample, the last column's mean |Spearman| (over seeds)
    per method, and the first column's where the original has one, per training condition (data set, training images, epochs; the Adam steps follow),
    with the models' test accuracy, next to the original's (MNIST, 55,000 digits, 50 epochs)."""
    firsts = first_state(rows)
    rows = last_state(rows)
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
            first = [r for r in firsts if r["architecture"] == arch and r["images"] == images
                     and r["metric"] == "spearman_abs"]
            for method, original in ORIGINAL_CASCADE_FIRST[arch].items():   # only the top block random
                values = [np.mean([r["mean"] for r in first if r["method"] == method
                                   and (r["data"], r["train_images"], r["epochs"]) == c] or [np.nan]) for c in conditions]
                if not all(np.isnan(values)):
                    lines.append(f"| {LABELS[method]}, first column | {original} | "
                                 + " | ".join("–" if np.isnan(v) else f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)
