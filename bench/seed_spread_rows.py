"""The seed-spread study's rows: one per run, method and metric, read from a run's summary.json,
written to and read back from the study's CSV, and the runs the training comparison takes."""
import csv
import json
import os

from sanity_checks.files import atomic_path

from seed_spread_reference import ORIGINAL_CASCADE, ORIGINAL_DATA

DATA_LABELS = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
METHOD_ORDER = ["gradient", "smoothgrad", "vargrad", "gradient_x_input", "integrated_gradients", "ig_smoothgrad",
                "guided_backprop", "gradcam", "guided_gradcam", "edge"]
METRICS = ("spearman_abs", "spearman_signed")
CSV_COLUMNS = ("test", "data", "architecture", "seed", "images", "first_image", "noise", "variant", "epochs",
               "train_images", "steps", "test_accuracy", "method",
               "metric", "step", "mean", "std", "n", "original", "first_mean")


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
