"""Errors of reconciliation.

SourceError    reading the S3 archive or the DynamoDB table failed (wraps the ClientError)
"""

from __future__ import annotations


class SourceError(Exception):
    """Reading the S3 archive or the DynamoDB table failed; ``code`` is the AWS error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)
