"""The one exception type the toolkit raises for problems a user can fix (bad input, missing files).

Command-line scripts catch it and print its message on one line, without a traceback
(see ``sanity_checks.cli.run``). Programming errors keep their ordinary exception types.
"""


class SanityCheckError(Exception):
    """A problem with the user's input or files, described in one readable sentence."""


class DataError(SanityCheckError):
    """A data set that is missing, truncated or corrupt."""


class ModelError(SanityCheckError):
    """A model folder or checkpoint that is missing or does not match the architecture."""


class OutputError(SanityCheckError):
    """A result that cannot be written: a file where a folder should be, a read-only or full disk."""


class UnsupportedError(SanityCheckError):
    """Something this model cannot do, with the reason (e.g. a first layer that cannot compensate an
    input shift)."""
