"""The seed-spread study's rows: one per run, method and metric, read from a run's summary.json,
written to and read back from the study's CSV, and the runs the training comparison takes."""
import csv
import json
import os

from sanity_checks.files import atomic_path

from seed_spread_reference import ORIGINAL_COLUMNS, ORIGINAL_DATA, ORIGINAL_OTHER_RUN_COLUMNS

DATA_LABELS = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
METHOD_ORDER = ["gradient", "smoothgrad", "vargrad", "gradient_x_input", "integrated_gradients", "ig_smoothgrad",
                "guided_backprop", "gradcam", "guided_gradcam", "edge"]
METRICS = ("spearman_abs", "spearman_signed")
#: One row per run, model state and method and metric. ``state``: 1 = only the top block random (the
#: cascade's first column) ... ``states`` = every block random (its last column); the data randomization
#: test has one state (the random-label model). ``gradcam_resize``: how GradCAM (and Guided GradCAM) were
#: upsampled (tf1_bilinear: PAIR 0.0.4, the original's and our default; skimage: PAIR 0.2.1), empty for
#: the other methods. ``original`` / ``original_other_run``: the original's number at that state, from its
#: two stored CNN notebook runs where there are two (REFERENCE A6; empty where it has none).
CSV_COLUMNS = ("test", "data", "architecture", "seed", "images", "first_image", "noise", "gradcam_resize", "variant",
               "epochs", "train_images", "steps", "test_accuracy", "method", "metric", "state", "states", "step",
               "mean", "std", "n", "original", "original_other_run")
GRADCAM_METHODS = ("gradcam", "guided_gradcam")


def gradcam_resize(settings):
    """How a run upsampled GradCAM: its --set gradcam.resize, else the default (Guided GradCAM follows it)."""
    from sanity_checks.methods.registry import DEFAULT_SETTINGS
    given = (settings.get("method_settings") or {}).get("gradcam", {})
    return given.get("resize", DEFAULT_SETTINGS["gradcam"]["resize"])


def last_column(out, test, data, arch, seed, first, n_images, noise, variant="default"):
    """The CSV rows of one run: per model state, method and metric, the mean over images (every
    column of the cascade, the trained model's own column excepted)."""
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
    settings = everything.get("settings", {})
    # summary.json's keys are sorted: the states are named by the settings, top block first
    states = settings["blocks"] if test == "cascading" else ["random labels"]
    resize = gradcam_resize(settings)
    mnist = data == "mnist"
    rows = []
    for method in [m for m in METHOD_ORDER if m in summary]:
        for state, step in enumerate(states, 1):
            if step not in summary[method]:
                continue
            if test == "cascading":
                # the original's columns where its cascade had the same blocks (MNIST, all four)
                same = mnist and len(states) == len(ORIGINAL_COLUMNS[arch]["gradient"])
                original = ORIGINAL_COLUMNS[arch].get(method, ("",) * len(states))[state - 1] if same else ""
                other = ORIGINAL_OTHER_RUN_COLUMNS.get(arch, {}).get(method, ("",) * len(states))[state - 1] \
                    if same else ""
            else:
                original, other = (ORIGINAL_DATA[arch].get(method, "") if mnist else ""), ""
            for metric in METRICS:
                stats = summary[method][step][metric]
                rows.append({"test": test, "data": data, "architecture": arch, "seed": seed,
                             "images": f"{first}-{first + n_images - 1}", "first_image": first, "noise": noise,
                             "gradcam_resize": resize if method in GRADCAM_METHODS else "", "variant": variant,
                             "epochs": epochs, "train_images": n_train, "steps": steps, "test_accuracy": accuracy,
                             "method": method, "metric": metric, "state": state, "states": len(states), "step": step,
                             "mean": round(stats["mean"], 6), "std": round(stats["std"], 6), "n": stats["n"],
                             "original": original if metric == "spearman_abs" else "",
                             "original_other_run": other if metric == "spearman_abs" else ""})
    return rows


def last_state(rows):
    """The rows of the last model state of their run (the cascade's last column: every block random)."""
    return [r for r in rows if r["state"] == r["states"]]


def first_state(rows):
    """The cascade's first column (only the top block random)."""
    return [r for r in rows if r["test"] == "cascading" and r["state"] == 1]


def evaluation(rows, variant="default", resize="tf1_bilinear"):
    """The rows of one evaluation: ``variant`` with GradCAM upsampled as ``resize`` (the other methods'
    rows carry no upsampling and belong to every one)."""
    return [r for r in rows if r["variant"] == variant and r["gradcam_resize"] in ("", resize)]


#: What names a run's row apart from its state: the run (test, data, model, images, noise, upsampling,
#: variant), the method and the metric. Training details and the original's numbers are not compared.
RUN_KEY = ("test", "data", "architecture", "seed", "images", "noise", "gradcam_resize", "variant", "method", "metric")


def add_states(kept, runs):
    """``kept`` (a CSV's rows, every one kept) with the model states of ``runs`` it lacks added, each
    after its run's other states, for the runs (and methods) it holds only: a run it does not hold is not
    added (e.g. a variant re-run under another GradCAM upsampling than the CSV's). Also the largest
    |difference| of the means of the states both hold (None when they share none). For a re-run that
    writes every column of runs whose CSV rows hold only some (the middle columns of the cascade), and
    shows that the columns both hold agree."""
    def run_key(r):
        return tuple(str(r[k]) for k in RUN_KEY)

    have = {run_key(r) + (int(r["state"]),): r for r in kept}
    held = {run_key(r) for r in kept}
    added, largest = [], None
    for r in runs:
        old = have.get(run_key(r) + (int(r["state"]),))
        if old is None:
            if run_key(r) in held:
                added.append(r)
        else:
            difference = abs(float(old["mean"]) - float(r["mean"]))
            largest = difference if largest is None else max(largest, difference)
    order = {}
    for r in kept + added:
        order.setdefault(run_key(r), len(order))
    merged = sorted(kept + added, key=lambda r: (order[run_key(r)], int(r["state"])))
    return merged, len(added), largest


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
        return [{k: (v if k in ("images", "step", "gradcam_resize") else number(v)) for k, v in row.items()}
                for row in csv.DictReader(f)]


def training_rows(paths, first_images=(0, 10)):
    """The cascading runs (default evaluation, per-state noise) of these CSVs on the given image
    samples, each run once (a model reached from two studies, e.g. the 50-epoch seed-0 MLP, counts once)."""
    rows, seen = [], set()
    for path in paths:
        for r in read_csv(path):
            key = tuple(r[k] for k in ("data", "architecture", "seed", "images", "epochs", "train_images", "method",
                                       "metric", "state", "gradcam_resize"))
            if (r["test"] == "cascading" and r["variant"] == "default" and r["noise"] == "per-state"
                    and r["gradcam_resize"] in ("", "tf1_bilinear")
                    and r["first_image"] in first_images and key not in seen):
                seen.add(key)
                rows.append(r)
    return rows
