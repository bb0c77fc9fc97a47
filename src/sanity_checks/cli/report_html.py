"""``src/sanity_report_html.py``: write report.html again from a finished report's folder (its report.md and
figures), without running any check: e.g. for reports written before report.html existed."""
import argparse
import os

from ..errors import SanityCheckError


def main(argv=None):
    p = argparse.ArgumentParser(prog="sanity_report_html.py",
                                description="Render report.html from the report.md and figures of report folders "
                                            "written by sanity_report.py (no check is run).")
    p.add_argument("folders", nargs="+", help="report folders (each holding report.md)")
    args = p.parse_args(argv)
    from ..report.html import write_html

    missing = [f for f in args.folders if not os.path.isfile(os.path.join(f, "report.md"))]
    if missing:
        raise SanityCheckError(f"no report.md in {', '.join(missing)}: give folders written by sanity_report.py")
    written = [write_html(folder) for folder in args.folders]
    for path in written:
        print(f"wrote {path}")
    return written
