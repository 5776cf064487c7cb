"""Exceptions of the attacks package: user-fixable errors vs. broken attack contracts."""


class AttackError(ValueError):
    """A user-fixable attack problem (unknown name, unsupported norm, bad parameter); one line."""


class UnknownAttackError(AttackError, LookupError):
    """No attack is registered under that name; the message lists close matches."""


class BudgetViolation(RuntimeError):
    """An attack returned images outside [0, 1] or outside its budget: a bug, never clipped away."""
