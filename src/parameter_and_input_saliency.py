"""Parameter-space and input-space saliency of one image (Levin et al.). ``--help`` lists the options.

Example: python src/parameter_and_input_saliency.py --model models/cnn_fashion --reference_id 12
"""
from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)
from sanity_checks import cli
from sanity_checks.cli.parameter_saliency import input_saliency_main

if __name__ == "__main__":
    cli.run(input_saliency_main)
