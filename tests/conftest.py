"""Shared fixtures. Randomness comes from explicit generators, never the global numpy seed."""
import numpy as np
import pytest

from sanity_checks import compat  # noqa: F401  (TensorFlow shim before anything imports TensorFlow)


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(1234)
