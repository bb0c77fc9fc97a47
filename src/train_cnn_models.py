"""Train the original LeNet-style CNN on MNIST or Fashion-MNIST. ``--help`` lists the options."""
from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)
from sanity_checks import cli, train

if __name__ == "__main__":
    cli.run(lambda argv: train.main("cnn", argv))
