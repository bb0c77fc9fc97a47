"""The main job (``make demo``): a quick model on the default data, a first result, figures."""
from sanity_checks import compat  # noqa: F401  (TensorFlow shim first)
from sanity_checks import cli
from sanity_checks.cli import demo

if __name__ == "__main__":
    cli.run(demo.main)
