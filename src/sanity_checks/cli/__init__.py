"""The command-line layer: small helpers shared by the thin scripts in ``src/``, and (modules) the runners' options
(``options``) and mains (``randomization``). No library module imports this package."""
import sys

from ..errors import SanityCheckError


def _one_line(message, category, filename, lineno, line=None):
    return f"warning: {category.__name__}: {message}\n"


def run(main, argv=None):
    """Call ``main(argv)``; a :class:`SanityCheckError` becomes one line on stderr and exit code 2; a warning
    is one line, without the source line that raised it."""
    import warnings

    warnings.formatwarning = _one_line
    try:
        return main(argv)
    except SanityCheckError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
