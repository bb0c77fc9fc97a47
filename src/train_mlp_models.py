"""Train the original MLP (784-2500-1500-500-10) on MNIST or Fashion-MNIST. ``--help`` lists the options."""
from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)
from sanity_checks import cli, train

if __name__ == "__main__":
    cli.run(lambda argv: train.main("mlp", argv))
