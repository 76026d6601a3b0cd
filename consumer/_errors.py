"""Errors raised by the consumer package.

ConsumerError                    root: anything the worker refuses or cannot do
├── ConfigError                  a setting is missing or out of range (also foundation's ConfigError)
├── AggregationError             a record with the KPL magic that is not a valid aggregate
├── SinkError                    a sink could not make records durable
│   ├── SinkUnavailableError     retries exhausted; the processor must stop, not skip
│   ├── WrongTableError          the kid table cannot hold our items (key schema); stop loudly
│   └── SinkAbandonedError       the processor withdrew a write (lease lost, daemon gone)
└── CheckpointFailedError        the daemon refused a checkpoint for good (not throttling)
"""

from __future__ import annotations

from foundation.errors import ConfigError as _BaseConfigError


class ConsumerError(Exception):
    """Root of every error raised by :mod:`consumer`."""


class ConfigError(ConsumerError, _BaseConfigError):
    """A worker or processor setting is missing or out of range (a :class:`foundation.errors.ConfigError`)."""


class AggregationError(ConsumerError):
    """Bytes that start with the KPL aggregation magic but are not a valid aggregated record."""


class SinkError(ConsumerError):
    """A write to DynamoDB or S3 failed.

    ``retryable`` says whether trying the same write again could succeed.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SinkUnavailableError(SinkError):
    """A sink kept failing for longer than the retry policy allows."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class CheckpointFailedError(ConsumerError):
    """The MultiLangDaemon refused a checkpoint with an error a retry cannot fix."""

    def __init__(self, error: str) -> None:
        super().__init__(f"checkpoint refused: {error}")
        self.error = error


class WrongTableError(SinkError):
    """The kid table is not one the worker can write (its key schema, or refusals that are about
    the table rather than one item): every write would fail or be dead-lettered, so stop."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class SinkAbandonedError(SinkError):
    """The processor withdrew a write that was waiting (its lease is gone, or its daemon): nothing
    is lost, the shard's next owner replays everything after the last checkpoint."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)
