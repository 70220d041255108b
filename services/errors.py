"""Domain errors. Handlers turn `UserFacingError` into a friendly ephemeral message."""

from __future__ import annotations


class UserFacingError(Exception):
    """Safe to show the Slack user as is."""


class NotAllowed(UserFacingError):
    pass


class NotFound(UserFacingError):
    pass


class StaleState(UserFacingError):
    pass


class PermanentJobError(Exception):
    """A job that must not be retried (bad input): it goes straight to the dead letters."""


def describe(exc: BaseException) -> str:
    """`Type: first line` (of the driver's own error when SQLAlchemy wraps one in `.orig`), at most
    200 characters of it: why /healthz is failing, without the SQL and parameters that follow."""
    lines = str(getattr(exc, "orig", None) or exc).splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__
