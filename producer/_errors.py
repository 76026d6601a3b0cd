"""Errors raised by the producer SDK.

ProducerError                    root: anything the producer refuses or could not do
├── ProducerClosedError          put() after close(), or close() came before delivery
│   └── ProducerForkedError      put() in a forked child on its parent's producer
├── BufferFullError              the in-memory buffer stayed full for put_timeout_s (back-pressure)
├── SpoolError                   the local spool cannot be used (``path`` names the file or directory)
│   ├── SpoolLockedError         another live producer owns the spool directory
│   ├── SpoolFullError           the spool reached max_spool_bytes, or the disk is out of space or inodes
│   ├── SpoolPermissionError     the spool is not writable (permissions, read-only file system)
│   ├── SpoolIOError             any other file system error (I/O error, too many open files...)
│   └── SpoolStreamMismatchError the spool belongs to another stream
└── DeliveryFailedError          Kinesis refused the event for a reason retrying did not fix;
                                 carries the event(s) and the last error code

Invalid events are refused by put() with :class:`schemas.ValidationError` as-is: it names the field.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ProducerError(Exception):
    """Root of every error raised by :mod:`producer`."""


class ProducerClosedError(ProducerError):
    """The producer is closed (or closed before this event was delivered).

    ``payloads`` holds the encoded events that were not delivered; with a spool they stay in it
    and the next producer started on that spool sends them.
    """

    def __init__(self, message: str, payloads: Sequence[bytes] = ()) -> None:
        self.payloads = tuple(payloads)
        super().__init__(message)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The undelivered events, decoded."""
        from schemas import decode_event

        return [decode_event(p) for p in self.payloads]


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


class DeliveryFailedError(ProducerError):
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

    @property
    def events(self) -> list[dict[str, Any]]:
        """The undelivered events, decoded."""
        from schemas import decode_event

        return [decode_event(p) for p in self.payloads]
