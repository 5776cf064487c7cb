"""The exception for problems a user can fix: the CLI prints its one-line message and exits 2."""


class BenchError(ValueError):
    """A user-fixable problem (bad option, missing data); the message names the problem and the fix."""
