"""Sanity checks for saliency maps: model and data randomization, the model noise test, and
parameter-space saliency, on TensorFlow 1-style graphs.

Modules (one job each): ``compat`` (TensorFlow/tf-slim shim, import first), ``data``, ``models``
(architectures), ``model`` (a loaded graph + session with batched calls), ``train``,
``methods`` (explanation methods), ``metrics`` (normalizations and similarities).
"""
__version__ = "0.1.0"
