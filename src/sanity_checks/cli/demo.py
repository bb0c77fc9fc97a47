"""The main job behind ``make demo`` (``src/demo.py``): quick CNNs trained on the built-in default data,
a first result and figures, then the cascading randomization, the data randomization test and a
sanity-check report (report.md and report.html) on them."""
import argparse
import os

from .. import files, figures
from ..data import load_dataset
from ..demo import quick_model
from ..loading import load_model
from ..model import read_metadata
from .randomization import data_randomization_main, model_randomization_main
from .report import main as report_main

#: The demo's report: a few images and methods with quick settings, so that ``make demo`` stays quick.
REPORT_IMAGES = 6
REPORT_METHODS = ("gradient", "smoothgrad", "gradient_x_input", "integrated_gradients", "guided_backprop")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="demo.py", description="Train quick CNNs on MNIST (true and permuted labels) and run "
                                "the cascading randomization and the data randomization test on them.")
    p.add_argument("--data", default="mnist", help="mnist or fashion (default mnist)")
    p.add_argument("--models", default="models/demo", help="where the quick models go (default models/demo)")
    p.add_argument("--out", default="results/demo", help="where figures and results go (default results/demo)")
    p.add_argument("--retrain", action="store_true", help="train again even if the quick model exists")
    return p.parse_args(argv)


def main(argv=None):
    """Quick models, then the cascading randomization, the data randomization test and a report on them;
    returns the path of the report's page (report.html), printed last."""
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
    print("\n== cascading model parameter randomization (original method settings, 10 test images)")
    model_randomization_main(["--model", folder, "--out", os.path.join(args.out, "cascading"), "--images", "10",
                              "--restart"])   # the models may have been retrained since the last demo
    print("\n== data randomization test (true-label vs random-label CNN)")
    data_randomization_main(["--model", folder, "--random-model", random_folder, "--images", "10",
                             "--out", os.path.join(args.out, "data_randomization"), "--restart"])
    print(f"\n== sanity-check report (every check against the controls; {REPORT_IMAGES} test images, quick method "
          "settings: a first look)")
    report_main(["--model", folder, "--out", os.path.join(args.out, "report"), "--images", str(REPORT_IMAGES),
                 "--quick", "--smprt-samples", "3", "--deletion-steps", "10", "--methods", *REPORT_METHODS,
                 "--restart"])
    acc = meta["accuracy"]
    print(f"\nquick CNN on {data.name}: test accuracy {acc['test']:.4f}; quick models are for a first look, "
          f"train the full ones with src/train_cnn_models.py (see README.md)")
    print(f"figures and results: {os.path.abspath(args.out)}/ (cascading/, data_randomization/, report/, "
          f"{', '.join(os.path.basename(w) for w in written)})")
    page = os.path.abspath(os.path.join(args.out, "report", "report.html"))
    print(f"the report as one page (open it in a browser): {page}")
    return page
