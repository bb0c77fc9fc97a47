"""Architectures. Each module declares one network the way tf-slim declares its nets:

- ``build(inputs) -> (logits, end_points)``: a pure graph-building function. It creates its
  variables with ``tf1.get_variable`` so that calling it a second time under a reusing variable
  scope shares them (that is how the guided-backprop tower is built, see ``model.GraphModel``).
- ``ARCHITECTURE``: an :class:`~sanity_checks.contract.Architecture` with the input shape and range, the
  class count, the default GradCAM layer and the ordered list of layer blocks, top (logits) first. The block list is the
  one place that says which variables make up "fc1" or "Mixed_6e"; randomization reads it.

A user's Keras model gets an :class:`Architecture` too (``sanity_checks.keras``): its build
calls the Keras model object, and its blocks list their variables explicitly.
"""
from ..contract import Architecture, Block  # noqa: F401  (declared with the contract; re-exported)
from ..errors import ModelError


def get_architecture(name: str) -> Architecture:
    from . import inception_v3, mnist_cnn, mnist_mlp
    registry = {m.ARCHITECTURE.name: m.ARCHITECTURE for m in (mnist_cnn, mnist_mlp, inception_v3)}
    if name not in registry:
        raise ModelError(f"unknown architecture {name!r}; valid: {', '.join(sorted(registry))}")
    return registry[name]
