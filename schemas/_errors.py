"""Errors raised by the schemas package.

SchemaError                      root: anything this package refuses
├── ValidationError              an event that must not be encoded; names the field
└── DecodeError                  bytes that cannot be decoded; never retryable
    ├── NotSingleObjectError     missing the C3 01 marker or shorter than a header
    ├── UnknownSchemaError       a writer fingerprint no published schema has
    └── CorruptBodyError         truncated or garbage Avro body
"""

from __future__ import annotations


class SchemaError(Exception):
    """Root of every error raised by :mod:`schemas`."""


class ValidationError(SchemaError, ValueError):
    """An event breaks the schema or one of its constraints.

    ``field`` is the dotted path of the offending field (``location.lat``), or ``"event"`` when
    the problem is the event as a whole (not a mapping, too large).
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class DecodeError(SchemaError, ValueError):
    """Bytes that are not a decodable behaviour event. Retrying cannot help."""


class NotSingleObjectError(DecodeError):
    """The bytes do not start with the Avro single-object marker (C3 01) and a fingerprint."""


class UnknownSchemaError(DecodeError):
    """The writer schema's fingerprint matches no schema published in :mod:`schemas`."""

    def __init__(self, fingerprint: bytes) -> None:
        self.fingerprint = fingerprint
        super().__init__(f"unknown writer schema fingerprint {fingerprint.hex()}")


class CorruptBodyError(DecodeError):
    """The Avro body is truncated, has trailing bytes, or is not valid for its writer schema."""
