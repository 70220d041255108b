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
