"""Pruning check of parameter-space saliency: zero the most salient filters of misclassified images.
``--help`` lists the options.

Example: python src/run_pruning_check.py --model models/cnn_fashion --out results/pruning_cnn_fashion
"""
from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)
from sanity_checks import cli
from sanity_checks.cli.parameter_saliency import pruning_main

if __name__ == "__main__":
    cli.run(pruning_main)
