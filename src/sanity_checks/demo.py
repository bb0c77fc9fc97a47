"""The main job behind ``make demo``: a quick model trained on the built-in default data, a first
result and figures. Later steps of the toolkit (sanity checks) extend it."""
import argparse
import os

import numpy as np

from . import files, figures
from .loading import load_model
from .model import METADATA_NAME, read_metadata

QUICK_TRAINING = ["--nepochs", "3", "--max-train", "8000", "--seed", "0"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="demo.py", description="Train quick CNNs on MNIST (true and permuted labels) and run "
                                "the cascading randomization and the data randomization test on them.")
    p.add_argument("--data", default="mnist", help="mnist or fashion (default mnist)")
    p.add_argument("--models", default="models/demo", help="where the quick models go (default models/demo)")
    p.add_argument("--out", default="results/demo", help="where figures and results go (default results/demo)")
    p.add_argument("--retrain", action="store_true", help="train again even if the quick model exists")
    return p.parse_args(argv)


def quick_model(arch, data, models_dir, retrain=False, extra=(), data_root="data"):
    """Train (or reuse) a quick model; returns its folder."""
    from .train import main as train_main

    name = f"{arch}_{data}" + ("_randlabels" if "--randlabels" in extra else "")
    folder = os.path.join(models_dir, name)
    with files.cache_lock(folder):   # another process training the same model: wait, then reuse it
        if not retrain and os.path.exists(os.path.join(folder, METADATA_NAME)):
            print(f"reusing {folder} (--retrain to train it again)")
            return folder
        return train_main(arch, ["--data", data, "--savemodelpath", models_dir, "--name", name,
                                 "--data-root", data_root, *QUICK_TRAINING, *extra])


def model_folder(arch, data, randlabels=False, models_dir="models", quick=False, data_root="data"):
    """The trained model ``<models_dir>/<arch>_<data>[_randlabels]`` if it exists (and ``quick`` is off),
    else a quick one trained (or reused) under ``<models_dir>/quick/``. Used by the notebooks.

    The environment variable ``SANITY_CHECKS_MODELS``, when set, replaces ``models_dir`` (models
    kept outside the repository, e.g. ``make notebooks MODELS=/data/models``)."""
    models_dir = os.environ.get("SANITY_CHECKS_MODELS") or models_dir
    full = os.path.join(models_dir, f"{arch}_{data}" + ("_randlabels" if randlabels else ""))
    if not quick and _is_trained(arch, data, randlabels, models_dir):
        return full
    print(f"{full} not found{' (or quick mode)' if quick else ''}: using a quick model; train the full one with "
          f"src/train_{arch}_models.py --data {data}{' --randlabels' if randlabels else ''}")
    return quick_model(arch, data, os.path.join(models_dir, "quick"), extra=["--randlabels"] if randlabels else (),
                       data_root=data_root)


def _is_trained(arch, data, randlabels, models_dir):
    """Whether the trained model folder ``<models_dir>/<arch>_<data>[_randlabels]`` is there."""
    name = f"{arch}_{data}" + ("_randlabels" if randlabels else "")
    return os.path.exists(os.path.join(models_dir, name, METADATA_NAME))


def trained_models_present(data, archs=("cnn", "mlp"), randlabels=False, models_dir="models"):
    """Whether every trained ``<arch>_<data>`` (and, with ``randlabels``, ``<arch>_<data>_randlabels``)
    is under ``models_dir`` (or ``$SANITY_CHECKS_MODELS``), as :func:`model_folder` looks for them."""
    models_dir = os.environ.get("SANITY_CHECKS_MODELS") or models_dir
    return all(_is_trained(arch, data, labels, models_dir) for arch in archs
               for labels in ((False, True) if randlabels else (False,)))


def main(argv=None):
    """Quick models, then the cascading randomization and the data randomization test on them."""
    from .data import load_dataset
    from .cli.randomization import data_randomization_main, model_randomization_main

    args = parse_args(argv)
    files.check_output_folder(args.out)
    folder = quick_model("cnn", args.data, args.models, args.retrain)
    random_folder = quick_model("cnn", args.data, args.models, args.retrain, extra=["--randlabels"])
    meta = read_metadata(folder)
    data = load_dataset(args.data)
    model = load_model(folder)
    images = data.x_test[:10]
    predicted = model.predict(images)
    gradients = model.input_gradients(images, predicted)

    os.makedirs(args.out, exist_ok=True)
    written = [
        files.save_figure(figures.training_curves(meta["history"], title=f"CNN on {data.name}"),
                          os.path.join(args.out, "training_curves.png")),
        files.save_figure(figures.image_and_mask_rows(
            images, gradients, [f"{data.class_names[p]}" + ("" if p == t else f" ({data.class_names[t]})")
                                for p, t in zip(predicted, data.y_test[:10])],
            row_labels=("test image", "gradient")), os.path.join(args.out, "gradients.png")),
    ]
    results = {"model": folder, "random_label_model": random_folder, "data": data.name,
               "data_source": data.source, "accuracy": meta["accuracy"],
               "random_label_accuracy": read_metadata(random_folder)["accuracy"],
               "first_10_test": {"predicted": predicted, "true": data.y_test[:10]}}
    written.append(files.save_json(results, os.path.join(args.out, "results.json")))
    print(f"\n== cascading model parameter randomization (original method settings, 10 test images)")
    model_randomization_main(["--model", folder, "--out", os.path.join(args.out, "cascading"), "--images", "10",
                              "--restart"])   # the models may have been retrained since the last demo
    print(f"\n== data randomization test (true-label vs random-label CNN)")
    data_randomization_main(["--model", folder, "--random-model", random_folder, "--images", "10",
                             "--out", os.path.join(args.out, "data_randomization"), "--restart"])
    acc = meta["accuracy"]
    print(f"\nquick CNN on {data.name}: test accuracy {acc['test']:.4f}; quick models are for a first look, "
          f"train the full ones with src/train_cnn_models.py (see README.md)")
    print(f"figures and results: {os.path.abspath(args.out)}/ (cascading/, data_randomization/, "
          f"{', '.join(os.path.basename(w) for w in written)})")
