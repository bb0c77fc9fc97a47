"""Shared fixtures. Randomness comes from explicit generators, never the global numpy seed."""
import numpy as np
import pytest

from sanity_checks import compat  # noqa: F401  (TensorFlow shim before anything imports TensorFlow)
from sanity_checks import methods
from sanity_checks.methods import user_module


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(1234)


def _digit_like_images(rng, n):
    """``n`` MNIST-like images (n, 28, 28, 1) float32 in [0, 1]: a bright blob on a zero background."""
    yy, xx = np.mgrid[:28, :28]
    images = np.zeros((n, 28, 28, 1), np.float32)
    for i in range(n):
        cy, cx = rng.uniform(9, 19, size=2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / rng.uniform(10, 30))
        stroke = blob * rng.uniform(0.5, 1.0, (28, 28))
        images[i, :, :, 0] = np.where(stroke > 0.15, stroke, 0.0) / stroke.max()
    return images


@pytest.fixture(scope="session")
def random_digits():
    """Three seeded MNIST-like images (3, 28, 28, 1) float32 in [0, 1]; treat as read-only."""
    return _digit_like_images(np.random.default_rng(2018), 3)


@pytest.fixture(scope="session")
def random_cnn():
    """A random-weight CNN (seed 7) shared by the session; do not change its weights."""
    from sanity_checks.model import GraphModel
    model = GraphModel("cnn", seed=7)
    yield model
    model.close()


@pytest.fixture(scope="module")
def cnn():
    """A random-weight CNN (seed 21) of the test module's own, which its tests may randomize or prune
    (each test restores the weights it changes)."""
    from sanity_checks.model import GraphModel
    model = GraphModel("cnn", seed=21)
    yield model
    model.close()


@pytest.fixture(scope="session")
def random_mlp():
    """A random-weight MLP (seed 7) shared by the session; do not change its weights."""
    from sanity_checks.model import GraphModel
    model = GraphModel("mlp", seed=7)
    yield model
    model.close()


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """A data root holding a small fake 'mnist' (400 train of which 50 validation, 50 test) as IDX files."""
    from sanity_checks.data import IDX_FILES, write_idx

    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(3)
    arrays = {"x_train": rng.integers(0, 256, (400, 28, 28), dtype=np.uint8),
              "y_train": (np.arange(400) % 10).astype(np.uint8),
              "x_test": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
              "y_test": (np.arange(50) % 10).astype(np.uint8)}
    for key, base in IDX_FILES.items():
        write_idx(root / "mnist" / f"{base}.gz", arrays[key])
    return root


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A random CNN (seed 8) saved as a model folder ``cnn_mnist`` (data mnist, true labels)."""
    from sanity_checks.model import GraphModel
    folder = tmp_path_factory.mktemp("models") / "cnn_mnist"
    model = GraphModel("cnn", seed=8)
    model.save(folder, {"data": "mnist", "labels": "true"})
    model.close()
    return folder


@pytest.fixture
def registered():
    """Register methods for one test; they (and any --method-module loaded) are gone afterwards."""
    names = []

    def register(name, function, **kwargs):
        names.append(name)
        return methods.register_method(name, function, **kwargs)

    yield register
    for name in names:
        if name not in ("gradient",):   # a refused attempt to replace a built-in
            methods.unregister_method(name)
    user_module.unload_all()
