"""One report with a verdict per method and check, against controls. ``--help`` lists the options."""
from sanity_checks import cli
from sanity_checks.cli.report import main

if __name__ == "__main__":
    cli.run(main)
