"""The main job behind ``make demo``: a quick model trained on the built-in default data, a first
result and figures. Later steps of the toolkit (sanity checks) extend it."""
import argparse
import os

import numpy as np

from . import files, figures
from .model import METADATA_NAME, load_model, read_metadata

QUICK_TRAINING = ["--nepochs", "3", "--max-train", "8000", "--seed", "0"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="demo.py", description="Train a quick CNN on MNIST and write a first result.")
    p.add_argument("--data", default="mnist", help="mnist or fashion (default mnist)")
    p.add_argument("--models", default="models/demo", help="where the quick models go (default models/demo)")
    p.add_argument("--out", default="results/demo", help="where figures and results go (default results/demo)")
    p.add_argument("--retrain", action="store_true", help="train again even if the quick model exists")
    return p.parse_args(argv)


def quick_model(arch, data, models_dir, retrain=False, extra=()):
    """Train (or reuse) a quick model; returns its folder."""
    from .train import main as train_main

    name = f"{arch}_{data}" + ("_randlabels" if "--randlabels" in extra else "")
    folder = os.path.join(models_dir, name)
    if not retrain and os.path.exists(os.path.join(folder, METADATA_NAME)):
        print(f"reusing {folder} (--retrain to train it again)")
        return folder
    return train_main(arch, ["--data", data, "--savemodelpath", models_dir, "--name", name,
                             *QUICK_TRAINING, *extra])


def main(argv=None):
    from .data import load_dataset

    args = parse_args(argv)
    folder = quick_model("cnn", args.data, args.models, args.retrain)
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
    results = {"model": folder, "data": data.name, "data_source": data.source, "accuracy": meta["accuracy"],
               "first_10_test": {"predicted": predicted, "true": data.y_test[:10]}}
    written.append(files.save_json(results, os.path.join(args.out, "results.json")))
    acc = meta["accuracy"]
    print(f"quick CNN on {data.name}: test accuracy {acc['test']:.4f} "
          f"({np.mean(predicted == data.y_test[:10]):.0%} of the first 10 test images)")
    print("wrote:\n  " + "\n  ".join(written))
