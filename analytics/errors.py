"""Errors of the analytics package.

AnalyticsError            root; ``code`` is the AWS error code when S3 answered with one
├── ArchiveReadError      listing or reading the archive in S3 failed
└── CompactionError       an hour could not be compacted (S3 refused a write, the data changed)
    └── UnreadableSourcesError  an hour holds objects that are not archive files (left uncompacted)
"""

from __future__ import annotations

from typing import Any


class AnalyticsError(Exception):
    """Something in compaction or the local query failed; ``code`` is the AWS error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class ArchiveReadError(AnalyticsError):
    """Listing or reading the archive failed (a missing bucket, no permission, S3 down)."""


class CompactionError(AnalyticsError):
    """An hour could not be compacted; the next run retries it from scratch."""


class UnreadableSourcesError(CompactionError):
    """An hour holds objects that are not archive files (``bad``: key, size, why); nothing was
    written for it, so it stays uncompacted until they are moved out of ``events/``."""

    def __init__(self, hour: Any, bad: list[Any]) -> None:
        self.hour = hour
        self.bad = list(bad)
        super().__init__(f"{hour}: {len(self.bad)} objects are not archive files", code="Unreadable")
