"""The one exception type the zoo raises for problems a user can fix (bad name, missing weights)."""


class ZooError(ValueError):
    """A user-fixable zoo problem; its message is one line naming the problem and the fix."""
