"""Versions of what produced a result, stored beside it (summary.json, run.json, a model's metadata)."""
import platform
import sys

import numpy as np

from . import __version__

#: Engines are recorded when the run imported them: a PyTorch model's run never imports TensorFlow.
_ENGINES = (("tensorflow", "tensorflow"), ("torch", "torch"))


def versions():
    """``{"sanity_checks", "python", "tensorflow" | "torch", "numpy", "scipy", "scikit-image"}``: version strings."""
    import scipy
    import skimage
    found = {"sanity_checks": __version__, "python": platform.python_version()}
    for key, module in _ENGINES:
        if module in sys.modules:
            found[key] = sys.modules[module].__version__
    found.update({"numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__})
    return found
