"""Errors raised by the producer SDK.

ProducerError                    root: anything the producer refuses or could not do
├── ValidationError              put() refused an invalid event; names the field (also a
│                                schemas.ValidationError, so callers catching that still do)
├── ProducerClosedError          put() after close() (or after the sender thread died)
│   └── ProducerForkedError      put() in a forked child on its parent's producer
├── BufferFullError              the in-memory buffer stayed full for put_timeout_s (back-pressure)
├── SpoolError                   the local spool cannot be used (``path`` names the file or directory)
│   ├── SpoolLockedError         another live producer owns the spool directory
│   ├── SpoolFullError           the spool reached max_spool_bytes, or the disk is out of space or inodes
│   ├── SpoolPermissionError     the spool is not writable (permissions, read-only file system)
│   ├── SpoolIOError             any other file system error (I/O error, too many open files...)
│   └── SpoolStreamMismatchError the spool belongs to another stream
├── NotDeliveredError            the producer closed before the event was delivered; carries the
│                                event(s); with a spool they stay in it for the next producer
└── DeliveryFailedError          Kinesis refused the event for a reason retrying did not fix;
                                 carries the event(s) and the last error code

A delivery future fails with NotDeliveredError or DeliveryFailedError; put() raises the others.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import schemas


class ProducerError(Exception):
    """Root of every error raised by :mod:`producer`."""


class ValidationError(ProducerError, schemas.ValidationError):
    """put() refused the event: ``field`` names the offending field (``location.lat``, or
    ``"event"`` for the event as a whole), ``problem`` says what is wrong. Nothing was accepted."""

    @classmethod
    def from_schema(cls, error: schemas.ValidationError) -> ValidationError:
        return cls(error.field, error.problem)


class ProducerClosedError(ProducerError):
    """put() on a producer that is closed (close() was called, or its sender thread died)."""


class _CarriesEvents:
    payloads: tuple[bytes, ...]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The undelivered events, decoded."""
        return [schemas.decode_event(p) for p in self.payloads]


class NotDeliveredError(_CarriesEvents, ProducerError):
    """The producer closed (or its sender thread died) before this event was delivered.

    ``payloads`` holds the encoded events (``events`` decodes them); with a spool they stay in it
    and the next producer started on that spool sends them.
    """

    def __init__(self, message: str, payloads: Sequence[bytes] = ()) -> None:
        self.payloads = tuple(payloads)
        super().__init__(message)


class ProducerForkedError(ProducerClosedError):
    """put() or flush() in a process forked from the one that created the producer: its sender
    thread, lock and spool belong to the parent. Create a new Producer in the child."""


class BufferFullError(ProducerError):
    """The buffer of accepted, undelivered events stayed at max_buffered_bytes for put_timeout_s.

    The event was not accepted; retry later or slow down. Kinesis is slow or throttling.
    """


class SpoolError(ProducerError):
    """The local spool directory cannot be used; ``path`` is the file or directory concerned."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path)
        super().__init__(message)


class SpoolLockedError(SpoolError):
    """Another live producer holds the lock of this spool directory."""


class SpoolFullError(SpoolError):
    """Appending the event would take the spool past max_spool_bytes, or the file system is out of
    space or inodes; the event was not accepted."""


class SpoolPermissionError(SpoolError):
    """The spool directory or a file in it is not writable (permissions, read-only file system)."""


class SpoolIOError(SpoolError):
    """Any other file system error on the spool (an I/O error, too many open files...)."""


class SpoolStreamMismatchError(SpoolError):
    """The spool directory was created for another stream; its events must not be replayed into this one."""


class DeliveryFailedError(_CarriesEvents, ProducerError):
    """Kinesis refused the event with a non-retryable error, or attempts ran out.

    ``error_code`` is the last error code Kinesis (or botocore) gave, ``attempts`` how many
    PutRecords attempts were made, ``payloads`` the single-object-encoded events (``events``
    decodes them). With a spool, the events also stay in it and are re-sent by the next producer.
    """

    def __init__(self, error_code: str, message: str, *, attempts: int, payloads: Sequence[bytes]) -> None:
        self.error_code = error_code
        self.error_message = message
        self.attempts = attempts
        self.payloads = tuple(payloads)
        super().__init__(f"{error_code} after {attempts} attempt(s): {message}")
