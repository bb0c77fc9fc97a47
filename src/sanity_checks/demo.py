"""Quick models: trained (or reused) on the built-in default data for ``make demo`` and for the
notebooks when the full trained models are not there (:func:`model_folder`). The demo's command line is
``sanity_checks.cli.demo``."""
import os

from . import files
from .model import METADATA_NAME

QUICK_TRAINING = ["--nepochs", "3", "--max-train", "8000", "--seed", "0"]


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
