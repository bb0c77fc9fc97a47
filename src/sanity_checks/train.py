"""Training the MNIST/Fashion-MNIST models as the original scripts did (REFERENCE A4).

Adam on the mean softmax cross-entropy of the logits; a fresh random permutation of the training
set per epoch split with ``np.array_split`` into ``len // batch_size`` batches; optional L2 term
(``--reg``). Differences from the original, all deliberate: every random choice takes ``--seed``;
``--reg`` also works for the MLP; ``--nepochs`` is always honoured (the original forced 100 epochs
for random labels; that stays the default only when ``--nepochs`` is not given).
"""
import argparse
import sys
import time

import numpy as np

from .compat import tf, tf1
from .model import GraphModel
from .versions import versions

DEFAULT_EPOCHS = 50
DEFAULT_EPOCHS_RANDOM_LABELS = 100
RANDOM_LABEL_TARGET = 0.95


def batches(n, batch_size, rng):
    """One epoch of index batches: a random permutation split into ``n // batch_size`` parts."""
    return np.array_split(rng.permutation(n), max(1, n // batch_size))


def train(model: GraphModel, x_train, y_train, *, lr=1e-4, batch_size=50, n_epochs=DEFAULT_EPOCHS,
          reg=False, seed=0, x_val=None, y_val=None, log=False, progress=True, after_epoch=None):
    """Train ``model`` in place. ``x_*``: (N, 28, 28, 1) float32, ``y_*``: (N,) int class ids.

    ``after_epoch(epoch, history)``, if given, is called after every epoch (e.g. to save a snapshot);
    it does not touch the random stream, so a snapshot after epoch E is the model of an E-epoch run.
    Returns a list of per-epoch dicts (loss and accuracy of the last batch, validation accuracy).
    """
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    with model.graph.as_default():
        labels = tf1.placeholder(tf.int64, [None], name="labels")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=model.logits))
        if reg:
            loss = loss + model.architecture.extra["regularizer"]()
        correct = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(model.logits, 1), labels), tf.float32))
        optimizer = tf1.train.AdamOptimizer(lr)
        step = optimizer.minimize(loss, var_list=[v for v in model.variables if v.trainable])
        model.session.run(tf1.variables_initializer(optimizer.variables()))
    history = []
    for epoch in range(1, n_epochs + 1):
        parts = batches(len(x_train), batch_size, rng)
        bar = tqdm(parts, desc=f"epoch {epoch}/{n_epochs}", unit="batch", leave=False, disable=not progress,
                   mininterval=1.0)
        for idx in bar:
            _, batch_loss, batch_acc = model.session.run(
                [step, loss, correct], {model.inputs: x_train[idx], labels: y_train[idx]})
        record = {"epoch": epoch, "loss": float(batch_loss), "batch_accuracy": float(batch_acc)}
        if x_val is not None and len(x_val):
            record["val_accuracy"] = model.accuracy(x_val, y_val)
        history.append(record)
        if log:
            print(f"epoch {epoch}: batch accuracy {batch_acc:.4f}, validation accuracy "
                  f"{record.get('val_accuracy', float('nan')):.4f}, loss {batch_loss:.4f}", flush=True)
        if after_epoch is not None:
            after_epoch(epoch, history)
    return history


def parse_args(arch_name, argv=None):
    p = argparse.ArgumentParser(
        prog=f"train_{arch_name}_models.py",
        description=f"Train the original {arch_name.upper()} on MNIST or Fashion-MNIST and save it as a model "
                    f"folder (checkpoint + metadata.json) for the sanity checks.")
    p.add_argument("--data", required=True, help="mnist, fashion (or its alias fmnist)")
    p.add_argument("--savemodelpath", default="models/",
                   help="parent folder; the model goes to <savemodelpath>/%s_<data>[_randlabels]/ "
                        "(default: models/)" % arch_name)
    p.add_argument("--randlabels", action="store_true",
                   help="train on a seeded permutation of the training labels (data randomization test)")
    p.add_argument("--reg", action="store_true", help="add the original L2 weight penalty (0.001 * sum w^2 / 2)")
    p.add_argument("--log", action="store_true", help="print one line per epoch")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default 1e-4)")
    p.add_argument("--batchsize", type=int, default=50, help="batch size (default 50)")
    p.add_argument("--nepochs", type=int, default=None,
                   help=f"epochs (default {DEFAULT_EPOCHS}, or {DEFAULT_EPOCHS_RANDOM_LABELS} with --randlabels)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, batches and label permutation (default 0)")
    p.add_argument("--max-train", type=int, default=None, metavar="N",
                   help="use only the first N training images (quick runs)")
    p.add_argument("--data-root", default="data", help="where data sets are looked for and fetched (default data/)")
    p.add_argument("--name", default=None, help="folder name instead of %s_<data>[_randlabels]" % arch_name)
    p.add_argument("--save-at", type=int, nargs="+", default=(), metavar="EPOCH",
                   help="also save the model after these epochs, as <name>_e<EPOCH> (each the model an "
                        "EPOCH-epoch run gives: one run for several training budgets)")
    args = p.parse_args(argv)
    for flag in ("lr", "batchsize", "nepochs", "max_train"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            p.error(f"--{flag.replace('_', '-')} must be positive, got {value}")
    args.nepochs = n_epochs = args.nepochs or (DEFAULT_EPOCHS_RANDOM_LABELS if args.randlabels else DEFAULT_EPOCHS)
    bad = [e for e in args.save_at if not 0 < e < n_epochs]
    if bad:
        p.error(f"--save-at {' '.join(map(str, bad))}: snapshot epochs must lie between 1 and {n_epochs - 1} "
                f"(the last epoch, {n_epochs}, is saved as the model itself)")
    args.save_at = sorted(set(args.save_at))
    return args


def main(arch_name, argv=None):
    """Entry point shared by ``src/train_cnn_models.py`` and ``src/train_mlp_models.py``."""
    import os

    from .data import load_dataset, permute_labels

    from .files import check_output_folder

    args = parse_args(arch_name, argv)
    check_output_folder(args.savemodelpath, "--savemodelpath")  # before training, not after
    data = load_dataset(args.data, root=args.data_root)
    x_train, y_train = data.x_train, data.y_train
    if args.max_train:
        x_train, y_train = x_train[:args.max_train], y_train[:args.max_train]
    true_train_labels = y_train
    if args.randlabels:
        y_train = permute_labels(y_train, np.random.default_rng([args.seed, 1]))
    n_epochs = args.nepochs   # the default for the label mode, resolved by parse_args
    name = args.name or f"{arch_name}_{data.name}" + ("_randlabels" if args.randlabels else "")
    folder = os.path.join(args.savemodelpath, name)
    if os.path.exists(folder) and not os.path.isdir(folder):
        from .errors import OutputError
        raise OutputError(f"{folder} is a file, not a model folder: move it away or pass --name")

    print(f"training {arch_name} on {data.name} ({len(x_train)} images, "
          f"{'permuted' if args.randlabels else 'true'} labels) for {n_epochs} epochs -> {folder}", flush=True)
    model = GraphModel(arch_name, seed=args.seed)
    start = time.time()

    def metadata(epochs, history):
        """The model folder's metadata after ``epochs`` epochs (accuracies measured now)."""
        seconds = round(time.time() - start, 1)
        accuracy = {"train": model.accuracy(x_train, y_train), "validation": model.accuracy(data.x_val, data.y_val),
                    "test": model.accuracy(data.x_test, data.y_test)}
        if args.randlabels:
            accuracy["train_true_labels"] = model.accuracy(x_train, true_train_labels)
        return {
            "data": data.name, "data_source": data.source, "labels": "permuted" if args.randlabels else "true",
            "seed": args.seed, "lr": args.lr, "batch_size": args.batchsize, "epochs": epochs, "reg": args.reg,
            "n_train": int(len(x_train)), "accuracy": accuracy, "train_seconds": seconds,
            "history": list(history), "versions": versions(), "command": " ".join(sys.argv),
        }

    def snapshot(epoch, history):
        if epoch in args.save_at:
            snap = f"{folder}_e{epoch}"
            model.save(snap, metadata(epoch, history))
            print(f"saved {snap} (epoch {epoch})", flush=True)

    history = train(model, x_train, y_train, lr=args.lr, batch_size=args.batchsize, n_epochs=n_epochs,
                    reg=args.reg, seed=args.seed, x_val=data.x_val, y_val=data.y_val, log=args.log,
                    after_epoch=snapshot if args.save_at else None)
    meta = metadata(n_epochs, history)
    accuracy = meta["accuracy"]
    model.save(folder, meta)
    print(f"accuracy: train {accuracy['train']:.4f}, validation {accuracy['validation']:.4f}, "
          f"test {accuracy['test']:.4f} ({meta['train_seconds']:.0f} s); saved {folder}")
    if args.randlabels and accuracy["train"] < RANDOM_LABEL_TARGET:
        print(f"note: training accuracy on the permuted labels is {accuracy['train']:.4f}, below the "
              f"{RANDOM_LABEL_TARGET:.0%} the paper reached; train longer (--nepochs) to memorize the labels")
    return folder
