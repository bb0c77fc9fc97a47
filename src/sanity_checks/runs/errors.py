"""The error of a run that cannot go on as asked."""
from ..errors import SanityCheckError


class RunError(SanityCheckError):
    """A run that cannot go on as asked: other settings in OUT, missing parts, a bad --shard."""
