"""Small helpers shared by the thin command-line scripts in ``src/``."""
import sys

from .errors import SanityCheckError


def run(main, argv=None):
    """Call ``main(argv)``; a :class:`SanityCheckError` becomes one line on stderr and exit code 2."""
    try:
        return main(argv)
    except SanityCheckError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
