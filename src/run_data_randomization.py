"""Data randomization test: a true-label model against a random-label model. ``--help`` lists the options."""
from sanity_checks import cli
from sanity_checks.cli.randomization import data_randomization_main

if __name__ == "__main__":
    cli.run(data_randomization_main)
