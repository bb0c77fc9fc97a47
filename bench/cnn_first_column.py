"""The CNN's first column (issue 25 point 4): how the re-drawn top layer reaches the input gradient.

With only ``softmax_linear`` re-drawn, the original's maps stayed close to the trained model's
(Gradient 0.60 / 0.64, SmoothGrad 0.54 / 0.58, Guided BackProp 0.89 / 0.90 over its two stored
runs), ours far less (0.20-0.23, 0.30-0.31, 0.72-0.77). This measures the first column of a trained
CNN under re-draws of the top layer that differ in one thing each, and two diagnostics, as columns:

- ``original``: the original's re-draw (each variable's own initializer: weights truncated normal
  std 0.1, biases 0.1), each state explaining its own top class (the study's default);
- ``std_0.01``: weights truncated normal std 0.01 (the paper's appendix), biases 0.1;
- ``bias_0``: the original's weights, biases 0;
- ``normal``: weights N(0, 0.1) not truncated;
- ``shuffled``: the trained weights permuted (the trained top layer's value distribution, no structure);
- ``trained_class``: the original's re-draw, the trained model's class explained at every draw;
- ``shared`` (diagnostic): every top weight 1, i.e. the gradient of the sum of the fc1 units: how much
  of the trained map any positive mix of the fc1 units' gradients carries;
- ``random_vs_random`` (diagnostic): two independent original re-draws against each other, not
  against the trained model: how alike the maps of any two random top layers are.

The top layer enters the first column only through w = W[:, c] (the masks are linear in it; the bias
only picks c), so the weights' scale and the biases can change it only through the explained class.
Dropout (neither network has any) and the fan-in (1024 in both) are the same by construction.

    PYTHONPATH=src .venv/bin/python bench/cnn_first_column.py --model models/seeds/cnn_mnist_seed0 \\
        --data mnist --draws 3 --csv doc/cnn_first_column.csv

Each variant: ``--draws`` re-draws (seeded by --seed, the variant and the draw), mean |Spearman| over
test images ``--first-image`` .. +``--images`` and over draws. Rows are appended to ``--csv``
(one per model, variant, method), replacing that model's earlier rows.
"""
import argparse
import csv
import json
import os
import sys
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.files import atomic_path  # noqa: E402

METHODS = ("gradient", "smoothgrad", "guided_backprop")
VARIANTS = ("original", "std_0.01", "bias_0", "normal", "shuffled", "trained_class", "shared", "random_vs_random")
COLUMNS = ("model", "data", "seed", "train_images", "epochs", "steps", "reg", "test_accuracy", "images", "draws",
           "variant", "method", "mean", "std_over_draws")
TOP = "softmax_linear"


def rng_for(seed, variant, draw):
    """The generator of one re-draw, keyed by what it is for."""
    return np.random.default_rng([seed, zlib.crc32(variant.encode()), draw])


def truncated_normal(rng, shape, std):
    """TF's truncated normal: N(0, std) re-drawn outside two standard deviations."""
    x = rng.standard_normal(shape)
    while np.any(bad := np.abs(x) > 2):
        x[bad] = rng.standard_normal(int(bad.sum()))
    return (std * x).astype(np.float32)


def top_layer(variant, trained_w, trained_b, rng):
    """(weights, biases) of the top layer for ``variant``."""
    shape = trained_w.shape
    if variant == "std_0.01":
        return truncated_normal(rng, shape, 0.01), np.full_like(trained_b, 0.1)
    if variant == "bias_0":
        return truncated_normal(rng, shape, 0.1), np.zeros_like(trained_b)
    if variant == "normal":
        return (0.1 * rng.standard_normal(shape)).astype(np.float32), np.full_like(trained_b, 0.1)
    if variant == "shuffled":
        return rng.permutation(trained_w.ravel()).reshape(shape), rng.permutation(trained_b)
    if variant == "shared":
        return np.ones_like(trained_w), np.full_like(trained_b, 0.1)
    return truncated_normal(rng, shape, 0.1), np.full_like(trained_b, 0.1)   # the original's re-draw


def similarity(a, b):
    """Mean |Spearman| (the original's abs normalization) over images, per method."""
    from sanity_checks.metrics import spearman_abs
    return {m: float(np.mean([spearman_abs(x, y) for x, y in zip(a[m], b[m])])) for m in METHODS}


def first_column(model, x, draws, seed):
    """{variant: {method: [similarity per draw]}}."""
    from sanity_checks import methods

    weights = model.get_weights()
    w_name, b_name = f"{TOP}/weights", f"{TOP}/biases"
    trained_classes = model.predict(x)
    trained = methods.compute_masks(model, x, list(METHODS), classes=trained_classes, seed=seed)
    out = {v: {m: [] for m in METHODS} for v in VARIANTS}
    try:
        for draw in range(draws):
            masks = {}
            for variant in VARIANTS:
                w, b = top_layer("original" if variant == "random_vs_random" else variant,
                                 weights[w_name], weights[b_name], rng_for(seed, variant, draw))
                model.set_weights({w_name: w, b_name: b})
                classes = trained_classes if variant == "trained_class" else None
                masks[variant] = methods.compute_masks(model, x, list(METHODS), classes=classes,
                                                       seed=seed + 1000 * (draw + 1))
                against = masks["original"] if variant == "random_vs_random" else trained
                for method, value in similarity(against, masks[variant]).items():
                    out[variant][method].append(value)
    finally:
        model.set_weights({w_name: weights[w_name], b_name: weights[b_name]})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a trained CNN folder (src/train_cnn_models.py)")
    p.add_argument("--data", choices=["mnist", "fashion"], default="mnist")
    p.add_argument("--data-root", default="data")
    p.add_argument("--images", type=int, default=10)
    p.add_argument("--first-image", type=int, default=0)
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", default=os.path.join("doc", "cnn_first_column.csv"))
    args = p.parse_args(argv)

    from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)
    from sanity_checks.data import load_dataset
    from sanity_checks.loading import load_model

    model = load_model(args.model)
    x = load_dataset(args.data, root=args.data_root).x_test[args.first_image:args.first_image + args.images]
    result = first_column(model, x, args.draws, args.seed)
    with open(os.path.join(args.model, "metadata.json")) as f:
        meta = json.load(f)
    n_train, epochs = meta.get("n_train", ""), meta.get("epochs", "")
    steps = epochs * max(1, n_train // meta["batch_size"]) if n_train and epochs and "batch_size" in meta else ""
    name = os.path.basename(os.path.normpath(args.model))
    rows = [{"model": name, "data": args.data, "seed": meta.get("seed", ""), "train_images": n_train,
             "epochs": epochs, "steps": steps, "reg": meta.get("reg", ""),
             "test_accuracy": meta.get("accuracy", {}).get("test", ""),
             "images": f"{args.first_image}-{args.first_image + args.images - 1}", "draws": args.draws,
             "variant": v, "method": m, "mean": round(float(np.mean(vals)), 4),
             "std_over_draws": round(float(np.std(vals)), 4)}
            for v in VARIANTS for m, vals in result[v].items()]
    kept = []
    if os.path.exists(args.csv):
        with open(args.csv, newline="") as f:
            kept = [r for r in csv.DictReader(f) if not (r["model"] == name and r["images"] == rows[0]["images"])]
    with atomic_path(args.csv) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept + rows)
    print(f"{name} ({args.data}, {n_train} images, {epochs} epochs, test accuracy {rows[0]['test_accuracy']}), "
          f"images {rows[0]['images']}, {args.draws} draws:")
    print("| variant | " + " | ".join(METHODS) + " |")
    for v in VARIANTS:
        print(f"| {v} | " + " | ".join(f"{np.mean(result[v][m]):.3f}" for m in METHODS) + " |")
    print("wrote", args.csv)


if __name__ == "__main__":
    main()
