"""How far an MLP's first layer moved from its initialization (issue 16's model difference).

No gradient ever reaches the first-layer weights of a pixel that is blank in every training image,
so those rows keep their initial draw; rows of inked pixels move as far as training takes them.
The ratio of the mean row norm on pixels inked in more than 20% of the training digits to the
mean on always-blank pixels is 1 for a first layer still at its initialization.

    PYTHONPATH=src .venv/bin/python bench/first_layer_drift.py models/seeds/mlp_mnist_seed0 [more model folders]
"""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import sanity_checks  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "src"))

import numpy as np  # noqa: E402

from sanity_checks.compat import tf  # noqa: E402
from sanity_checks.data import load_dataset  # noqa: E402
from sanity_checks.model import CHECKPOINT_NAME, read_metadata  # noqa: E402


def drift(folder, x_train, variable="mlp/hidden1/weights", inked=0.2):
    """(mean row norm on often-inked pixels, on always-blank pixels, their ratio)."""
    weights = tf.train.load_checkpoint(os.path.join(folder, CHECKPOINT_NAME)).get_tensor(variable)
    ink = (x_train.reshape(len(x_train), -1) > 0).mean(axis=0)
    rows = np.linalg.norm(weights, axis=1)
    on, off = rows[ink > inked].mean(), rows[ink == 0].mean()
    return on, off, on / off


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="MLP model folders (train_mlp_models.py)")
    p.add_argument("--data-root", default=os.path.join(REPO, "data"))
    args = p.parse_args(argv)
    data = {}
    for folder in args.models:
        meta = read_metadata(folder)
        name = meta.get("data", "mnist")
        data.setdefault(name, load_dataset(name, root=args.data_root, verbose=False).x_train)
        on, off, ratio = drift(folder, data[name])
        print(f"{folder}: {meta.get('epochs')} epochs on {meta.get('n_train')} images, test accuracy "
              f"{meta.get('accuracy', {}).get('test')}: first-layer row norm {on:.3f} (inked pixels) / "
              f"{off:.3f} (blank pixels) = {ratio:.3f}")


if __name__ == "__main__":
    main()
