"""report.html again from finished report folders (no check is run). ``--help`` lists the options."""
from sanity_checks import cli
from sanity_checks.cli.report_html import main

if __name__ == "__main__":
    cli.run(main)
