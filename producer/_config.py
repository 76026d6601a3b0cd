"""ProducerConfig: every knob of the producer, validated once."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal

from foundation.kpl import DEFAULT_AGGREGATE_BYTES
from foundation.limits import (
    KINESIS_MAX_BYTES_PER_PUT,
    KINESIS_MAX_PARTITION_KEY_CHARS,
    KINESIS_MAX_RECORD_BYTES,
    KINESIS_MAX_RECORDS_PER_PUT,
    MiB,
)
from foundation.settings import DEFAULT_STREAM, AwsSettings, PipelineNames
from schemas import DEFAULT_MAX_FUTURE_SKEW_MS, MAX_EVENT_BYTES

from ._aggregate import empty_cost, record_cost
from ._partition import PARTITION_KEY_RANDOM_BYTES
from ._spool import FsyncPolicy


class _Default(enum.Enum):
    SPOOL_DIR = "DEFAULT_SPOOL_DIR"

    def __repr__(self) -> str:
        return self.value


#: ``spool_dir`` default: a per-user data directory per stream (see :func:`default_spool_dir`).
#: An object, not a string: every string is a directory (one named ``auto`` too).
DEFAULT_SPOOL_DIR: Final = _Default.SPOOL_DIR
SpoolDir = str | os.PathLike[str] | Literal[_Default.SPOOL_DIR] | None
DEFAULT_AGGREGATED_RECORD_BYTES = DEFAULT_AGGREGATE_BYTES
#: The smallest aggregated record that still holds the largest event the codec allows.
MIN_AGGREGATED_RECORD_BYTES = empty_cost("k" * 2 * PARTITION_KEY_RANDOM_BYTES) + record_cost(MAX_EVENT_BYTES)
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_ENV_PREFIX = "NICELIST_PRODUCER_"


def default_spool_dir(stream_name: str) -> Path:
    """``~/.local/share/nicelist/spool/<stream>``: one spool per user and stream."""
    return Path.home() / ".local" / "share" / "nicelist" / "spool" / stream_name


@dataclass(frozen=True, kw_only=True)
class ProducerConfig:
    """How a :class:`~producer.Producer` batches, retries, back-pressures and spools."""

    stream_name: str = DEFAULT_STREAM
    #: region and endpoint for the Kinesis client the producer creates; ignored with kinesis_client
    aws: AwsSettings = field(default_factory=AwsSettings)
    #: an injected boto3 Kinesis client (tests, apps sharing a client); None: made from ``aws``
    kinesis_client: Any = field(default=None, repr=False, compare=False)

    # --- aggregation and batching
    #: how long an aggregated record may wait for more events before it is sent
    linger_ms: int = 100
    #: data + partition key of one aggregated record (Kinesis allows up to 1 MiB)
    max_aggregated_record_bytes: int = DEFAULT_AGGREGATED_RECORD_BYTES
    #: aggregated records per PutRecords call (Kinesis allows up to 500)
    max_records_per_request: int = KINESIS_MAX_RECORDS_PER_PUT
    #: bytes per PutRecords call, partition keys included (Kinesis allows up to 5 MiB)
    max_request_bytes: int = KINESIS_MAX_BYTES_PER_PUT

    # --- back-pressure
    #: encoded bytes of accepted, not yet delivered events held in memory (blobs double it at most)
    max_buffered_bytes: int = 64 * MiB
    #: how long put() waits for buffer space before raising BufferFullError
    put_timeout_s: float = 1.0

    # --- durability
    #: DEFAULT_SPOOL_DIR: default_spool_dir(stream_name); None: no spool (events in memory die with
    #: the process); any string or path: that directory
    spool_dir: SpoolDir = DEFAULT_SPOOL_DIR
    max_spool_bytes: int = 512 * MiB
    spool_segment_bytes: int = 4 * MiB
    fsync: FsyncPolicy = FsyncPolicy.INTERVAL
    fsync_interval_ms: int = 1000

    # --- retries
    backoff_base_ms: int = 100
    backoff_max_ms: int = 10_000
    #: attempts for throttling and transient errors (5xx, connection); None: retry forever
    max_attempts_throttled: int | None = None
    #: attempts for any other error (AccessDenied, ResourceNotFound, KMS, validation...)
    max_attempts_non_throttle: int = 5
    #: how long close() (and leaving the ``with`` block normally) waits for pending events
    close_timeout_s: float = 30.0
    #: how long leaving the ``with`` block on an exception waits for pending events; what is
    #: still pending then stays in the spool (logged with its count) for the next producer
    exit_on_error_flush_s: float = 2.0

    # --- validation
    #: put() refuses an ``observed_at`` further than this past the producer's clock
    max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_MS / 1000

    # --- metrics (opt-in): CloudWatch namespace ``nicelist``, dimension ``Stream``
    #: seconds between two publications from the sender thread; None: no metrics
    metrics_interval_s: float | None = None
    #: an injected boto3 CloudWatch client; None: made from ``aws`` when metrics are on
    cloudwatch_client: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _STREAM_NAME.match(self.stream_name):
            raise ValueError(f"stream_name must be 1-128 of [A-Za-z0-9_.-], got {self.stream_name!r}")
        if 2 * PARTITION_KEY_RANDOM_BYTES > KINESIS_MAX_PARTITION_KEY_CHARS:  # pragma: no cover - constants
            raise AssertionError("partition keys would exceed the Kinesis limit")
        if self.linger_ms < 0:
            raise ValueError(f"linger_ms must be >= 0, got {self.linger_ms}")
        if not MIN_AGGREGATED_RECORD_BYTES <= self.max_aggregated_record_bytes <= KINESIS_MAX_RECORD_BYTES:
            raise ValueError(
                f"max_aggregated_record_bytes must be {MIN_AGGREGATED_RECORD_BYTES}..{KINESIS_MAX_RECORD_BYTES}, "
                f"got {self.max_aggregated_record_bytes}"
            )
        if not 1 <= self.max_records_per_request <= KINESIS_MAX_RECORDS_PER_PUT:
            raise ValueError(f"max_records_per_request must be 1..{KINESIS_MAX_RECORDS_PER_PUT}")
        if not self.max_aggregated_record_bytes <= self.max_request_bytes <= KINESIS_MAX_BYTES_PER_PUT:
            raise ValueError(f"max_request_bytes must be max_aggregated_record_bytes..{KINESIS_MAX_BYTES_PER_PUT}")
        if self.max_buffered_bytes < MAX_EVENT_BYTES:
            raise ValueError(f"max_buffered_bytes must be >= {MAX_EVENT_BYTES} (one event)")
        if self.put_timeout_s < 0 or self.close_timeout_s < 0 or self.exit_on_error_flush_s < 0:
            raise ValueError("put_timeout_s, close_timeout_s and exit_on_error_flush_s must be >= 0")
        if not self.max_future_skew_s >= 0:  # NaN too
            raise ValueError(f"max_future_skew_s must be >= 0, got {self.max_future_skew_s}")
        if self.spool_dir is not DEFAULT_SPOOL_DIR and self.spool_dir is not None and not _a_path(self.spool_dir):
            raise ValueError(f"spool_dir must be DEFAULT_SPOOL_DIR, None or a directory, got {self.spool_dir!r}")
        if self.spool_segment_bytes < 2 * MAX_EVENT_BYTES:
            raise ValueError(f"spool_segment_bytes must be >= {2 * MAX_EVENT_BYTES}")
        if self.max_spool_bytes < 2 * self.spool_segment_bytes:
            raise ValueError("max_spool_bytes must hold at least two spool segments")
        object.__setattr__(self, "fsync", FsyncPolicy(self.fsync))
        if self.fsync_interval_ms <= 0:
            raise ValueError("fsync_interval_ms must be > 0")
        if not 0 < self.backoff_base_ms <= self.backoff_max_ms:
            raise ValueError("need 0 < backoff_base_ms <= backoff_max_ms")
        if self.max_attempts_throttled is not None and self.max_attempts_throttled < 1:
            raise ValueError("max_attempts_throttled must be >= 1 or None (forever)")
        if self.max_attempts_non_throttle < 1:
            raise ValueError("max_attempts_non_throttle must be >= 1")
        if self.metrics_interval_s is not None and self.metrics_interval_s <= 0:
            raise ValueError("metrics_interval_s must be > 0 or None (no metrics)")

    @property
    def resolved_spool_dir(self) -> Path | None:
        """The spool directory this configuration uses, or None."""
        if self.spool_dir is None:
            return None
        if self.spool_dir is DEFAULT_SPOOL_DIR:
            return default_spool_dir(self.stream_name)
        return Path(self.spool_dir)

    @property
    def max_future_skew_ms(self) -> int:
        return round(self.max_future_skew_s * 1000)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ProducerConfig:
        """The stream from ``NICELIST_STREAM``, AWS from the standard variables, and any field as
        ``NICELIST_PRODUCER_<FIELD>`` (e.g. ``NICELIST_PRODUCER_LINGER_MS=50``,
        ``NICELIST_PRODUCER_SPOOL_DIR=none``; ``=default`` or, as before, ``=auto`` for the default
        directory: write ``./auto`` for a directory of that name). Keyword arguments win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "stream_name": PipelineNames.from_env(env).stream,
            "aws": AwsSettings.from_env(env),
        }
        for f in fields(cls):
            raw = env.get(_ENV_PREFIX + f.name.upper())
            if raw is None or f.name in ("aws", "kinesis_client", "cloudwatch_client", "stream_name"):
                continue
            values[f.name] = _parse(f.name, raw)
        values.update(overrides)
        return cls(**values)


def _a_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and bool(os.fspath(value))


def _parse(name: str, raw: str) -> Any:
    text = raw.strip()
    if name == "spool_dir":
        if text.lower() in ("", "none", "off"):
            return None
        return DEFAULT_SPOOL_DIR if text.lower() in ("auto", "default") else text
    if name == "fsync":
        return FsyncPolicy(text.lower())
    if name == "metrics_interval_s" and text.lower() in ("", "none", "off"):
        return None
    if name == "max_attempts_throttled" and text.lower() in ("", "none", "forever"):
        return None
    try:
        return float(text) if name.endswith("_s") else int(text)
    except ValueError:
        raise ValueError(f"{_ENV_PREFIX}{name.upper()}: not a number: {raw!r}") from None
