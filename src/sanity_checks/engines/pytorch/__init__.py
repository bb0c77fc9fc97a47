"""The PyTorch engine: ``torch.nn.Module`` image classifiers behind the model contract.

- ``model``: :class:`TorchModel`, the contract's calls on a copy of the user's module;
- ``structure``: one probe pass through forward hooks: forward order, blocks, GradCAM's default
  layer, guided-backprop coverage;
- ``initializers``: seeded re-draws from each module's own initializer;
- ``shift``: input invariance (the constant shift compensated in the first layer);
- ``loading``: ``--model file.py:factory`` / ``package.module:factory`` / ``torchvision:NAME`` /
  ``timm:NAME`` with ``--weights`` (a state dict read with ``weights_only=True``).

Importing this package does not import torch; its modules do when they run.
"""
# The method registry before any module of this package: its list of the libraries' methods imports the
# Captum and Zennit modules here, which import the registry's base. Imported first, one of them would meet
# itself half made (an ImportError: tests/test_layout.py imports every module first).
from ... import methods  # noqa: F401,E402
