"""Errors of the dead-letter tools.

DeadLetterError          root; ``code`` is the AWS error code when AWS answered with one
└── RedriveError         a redrive stopped midway: the dead letter stays claimed (never put twice)
"""

from __future__ import annotations


class DeadLetterError(Exception):
    """Listing, reading or redriving dead letters failed; ``code`` is the AWS error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class RedriveError(DeadLetterError):
    """A dead letter's records could not all be put back; its claim marker stays, so no later
    redrive puts any of them again (at most once), and ``list`` shows it as claimed, not finished."""
