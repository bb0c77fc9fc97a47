"""Architectures. Each module declares one network the way tf-slim declares its nets:

- ``build(inputs) -> (logits, end_points)``: a pure graph-building function. It creates its
  variables with ``tf1.get_variable`` so that calling it a second time under a reusing variable
  scope shares them (that is how the guided-backprop tower is built, see ``model.GraphModel``).
- ``ARCHITECTURE``: an :class:`Architecture` with the input shape, the class count, the default
  GradCAM layer and the ordered list of layer blocks, top (logits) first. The block list is the
  one place that says which variables make up "fc1" or "Mixed_6e"; randomization reads it.

A user's Keras model gets an :class:`Architecture` too (``sanity_checks.keras``): its build
calls the Keras model object, and its blocks list their variables explicitly.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from ..errors import ModelError


@dataclass(frozen=True)
class Block:
    """A named group of variables: every variable whose name starts with ``scope + '/'``, or, when
    ``variables`` is given, exactly those variable names (Keras models: their variable names do not
    carry the names of nested models, so a prefix cannot say which layer owns them)."""

    name: str
    scope: Optional[str] = None
    variables: Optional[Tuple[str, ...]] = None

    def __post_init__(self):
        if (self.scope is None) == (self.variables is None):
            raise ValueError(f"block {self.name!r}: give either a scope or a variable list")
        if self.variables is not None:
            object.__setattr__(self, "variables", tuple(self.variables))

    def owns(self, variable_name: str) -> bool:
        if self.variables is not None:
            return variable_name in self.variables
        return variable_name.startswith(self.scope + "/")


@dataclass(frozen=True)
class Architecture:
    name: str
    build: Callable
    input_shape: Tuple[int, ...]          # per image, e.g. (28, 28, 1)
    num_classes: int
    blocks: Tuple[Block, ...]             # top (output) block first: the cascading order
    gradcam_layer: Optional[str] = None   # end point used by GradCAM by default
    batch_size: int = 256                 # images per session.run for batched calls
    description: str = ""
    extra: dict = field(default_factory=dict)

    def block(self, name: str) -> Block:
        for b in self.blocks:
            if b.name == name:
                return b
        raise ModelError(f"unknown block {name!r} for {self.name}; valid blocks: "
                         + ", ".join(b.name for b in self.blocks))

    @property
    def block_names(self):
        return [b.name for b in self.blocks]


def get_architecture(name: str) -> Architecture:
    from . import inception_v3, mnist_cnn, mnist_mlp
    registry = {m.ARCHITECTURE.name: m.ARCHITECTURE for m in (mnist_cnn, mnist_mlp, inception_v3)}
    if name not in registry:
        raise ModelError(f"unknown architecture {name!r}; valid: {', '.join(sorted(registry))}")
    return registry[name]
