"""Model parameter randomization test (cascading or independent). ``--help`` lists the options."""
from sanity_checks import cli
from sanity_checks.cli.randomization import model_randomization_main

if __name__ == "__main__":
    cli.run(model_randomization_main)
