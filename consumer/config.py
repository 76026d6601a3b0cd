"""Settings of the record processor: one frozen dataclass, read from the environment the
MultiLangDaemon passes on to its children (``nicelist worker`` sets it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from foundation.limits import MiB
from foundation.settings import AwsSettings, PipelineNames
from schemas import DEFAULT_MAX_FUTURE_SKEW_MS

from ._errors import ConfigError
from .retry import RetryPolicy

ENV_PREFIX = "NICELIST_"
#: How the kid table is written (see consumer.sinks.dynamodb): batched PartiQL statements, or
#: one conditional PutItem per kid (the operator's fallback). Spelled here, not imported, so the
#: config loads without botocore.
DYNAMODB_WRITE_PATHS = ("batch-statement", "put-item")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"expected a boolean (0/1), got {value!r}")


#: The largest ``max_future_skew_ms`` allowed: Athena's partition projection reaches one day past
#: now (analytics.athena), so every event the worker archives stays inside it.
MAX_FUTURE_SKEW_LIMIT_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, kw_only=True)
class ProcessorConfig:
    """What one record processor (one shard lease) needs."""

    names: PipelineNames = field(default_factory=PipelineNames)
    aws: AwsSettings = field(default_factory=AwsSettings)
    #: an archive file closes when its rows reach about this many bytes (before compression)
    archive_max_file_bytes: int = 8 * MiB
    #: ... or when the oldest open file is this old; also the longest wait before a checkpoint
    archive_max_file_age_s: float = 30.0
    #: "batch-statement" (25 conditional PartiQL statements per call) or "put-item" (one
    #: conditional PutItem per kid, the fallback)
    dynamodb_write_path: str = "batch-statement"
    #: concurrent conditional writes to the kid table (put-item path)
    dynamodb_threads: int = 8
    #: BatchExecuteStatement calls in flight at once (batch-statement path)
    dynamodb_batches_in_flight: int = 8
    #: botocore's client-side parameter validation of the kid table client; our code builds every
    #: request shape itself, so it is off by default (it costs ~15% of a call's CPU)
    dynamodb_parameter_validation: bool = False
    #: a batch's DynamoDB writes overlap the decoding of the next batch (one batch in flight)
    dynamodb_overlap_batches: bool = True
    #: BatchExecuteStatement bodies serialized by json.dumps instead of botocore's shape walk
    #: (consumer.sinks._prebuilt): the largest CPU cost of the write path otherwise
    dynamodb_prebuilt_json: bool = True
    #: how long a sink keeps retrying 5xx and connection errors before the processor gives up
    #: (exits); throttling alone never makes it give up (consumer.sinks._pacing)
    sink_retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: retries of a throttled checkpoint; a checkpoint that still fails is skipped, not fatal
    checkpoint_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5))
    #: while a batch's DynamoDB writes wait out throttling, the processor looks up this often
    #: (publishes the writer's figures, notices a lost lease or a gone daemon)
    dynamodb_wait_poll_s: float = 1.0
    #: ... and after this long archives and checkpoints what the earlier batches made durable
    checkpoint_while_waiting_after_s: float = 10.0
    #: events observed more than this far past their record's arrival at Kinesis are dead-lettered
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS

    def __post_init__(self) -> None:
        if self.archive_max_file_bytes < 1:
            raise ConfigError(f"archive_max_file_bytes must be positive, got {self.archive_max_file_bytes}")
        if self.dynamodb_wait_poll_s <= 0 or self.checkpoint_while_waiting_after_s < 0:
            raise ConfigError("dynamodb_wait_poll_s must be positive and checkpoint_while_waiting_after_s >= 0")
        if self.archive_max_file_age_s <= 0:
            raise ConfigError(f"archive_max_file_age_s must be positive, got {self.archive_max_file_age_s}")
        if not 1 <= self.dynamodb_threads <= 64:
            raise ConfigError(f"dynamodb_threads must be 1..64, got {self.dynamodb_threads}")
        if self.dynamodb_write_path not in DYNAMODB_WRITE_PATHS:
            raise ConfigError(
                f"dynamodb_write_path must be one of {DYNAMODB_WRITE_PATHS}, got {self.dynamodb_write_path!r}"
            )
        if not 1 <= self.dynamodb_batches_in_flight <= 32:
            raise ConfigError(f"dynamodb_batches_in_flight must be 1..32, got {self.dynamodb_batches_in_flight}")
        if not 0 <= self.max_future_skew_ms <= MAX_FUTURE_SKEW_LIMIT_MS:
            raise ConfigError(
                f"max_future_skew_ms must be 0..{MAX_FUTURE_SKEW_LIMIT_MS}, got {self.max_future_skew_ms}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProcessorConfig:
        """``NICELIST_ARCHIVE_MAX_FILE_BYTES``, ``NICELIST_ARCHIVE_MAX_FILE_AGE_S``,
        ``NICELIST_DYNAMODB_WRITE_PATH``, ``NICELIST_DYNAMODB_THREADS``,
        ``NICELIST_DYNAMODB_BATCHES_IN_FLIGHT``, ``NICELIST_DYNAMODB_PARAMETER_VALIDATION``,
        ``NICELIST_DYNAMODB_PREBUILT_JSON``,
        ``NICELIST_DYNAMODB_OVERLAP_BATCHES`` (0/1 each),
        ``NICELIST_SINK_MAX_ATTEMPTS``, ``NICELIST_SINK_BASE_DELAY_S``,
        ``NICELIST_SINK_MAX_DELAY_S`` (and the same three ``NICELIST_CHECKPOINT_...`` for
        checkpoints), ``NICELIST_DYNAMODB_WAIT_POLL_S``,
        ``NICELIST_CHECKPOINT_WHILE_WAITING_AFTER_S``, ``NICELIST_MAX_FUTURE_SKEW_MS``,
        plus the names and AWS settings of :mod:`foundation.settings`."""
        env = os.environ if environ is None else environ
        defaults = cls()
        try:
            return cls(
                names=PipelineNames.from_env(env),
                aws=AwsSettings.from_env(env),
                archive_max_file_bytes=int(env.get("NICELIST_ARCHIVE_MAX_FILE_BYTES", defaults.archive_max_file_bytes)),
                archive_max_file_age_s=float(
                    env.get("NICELIST_ARCHIVE_MAX_FILE_AGE_S", defaults.archive_max_file_age_s)
                ),
                dynamodb_write_path=env.get("NICELIST_DYNAMODB_WRITE_PATH", defaults.dynamodb_write_path),
                dynamodb_threads=int(env.get("NICELIST_DYNAMODB_THREADS", defaults.dynamodb_threads)),
                dynamodb_batches_in_flight=int(
                    env.get("NICELIST_DYNAMODB_BATCHES_IN_FLIGHT", defaults.dynamodb_batches_in_flight)
                ),
                dynamodb_parameter_validation=_flag(
                    env.get("NICELIST_DYNAMODB_PARAMETER_VALIDATION"), defaults.dynamodb_parameter_validation
                ),
                dynamodb_overlap_batches=_flag(
                    env.get("NICELIST_DYNAMODB_OVERLAP_BATCHES"), defaults.dynamodb_overlap_batches
                ),
                dynamodb_prebuilt_json=_flag(
                    env.get("NICELIST_DYNAMODB_PREBUILT_JSON"), defaults.dynamodb_prebuilt_json
                ),
                sink_retry=_retry_from_env(env, "NICELIST_SINK", defaults.sink_retry),
                checkpoint_retry=_retry_from_env(env, "NICELIST_CHECKPOINT", defaults.checkpoint_retry),
                dynamodb_wait_poll_s=float(env.get("NICELIST_DYNAMODB_WAIT_POLL_S", defaults.dynamodb_wait_poll_s)),
                checkpoint_while_waiting_after_s=float(
                    env.get("NICELIST_CHECKPOINT_WHILE_WAITING_AFTER_S", defaults.checkpoint_while_waiting_after_s)
                ),
                max_future_skew_ms=int(env.get("NICELIST_MAX_FUTURE_SKEW_MS", defaults.max_future_skew_ms)),
            )
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"bad processor setting in the environment: {exc}") from exc

    def to_env(self) -> dict[str, str]:
        """The variables :meth:`from_env` reads for the settings of this package."""
        return {
            "NICELIST_ARCHIVE_MAX_FILE_BYTES": str(self.archive_max_file_bytes),
            "NICELIST_ARCHIVE_MAX_FILE_AGE_S": repr(self.archive_max_file_age_s),
            "NICELIST_DYNAMODB_WRITE_PATH": self.dynamodb_write_path,
            "NICELIST_DYNAMODB_THREADS": str(self.dynamodb_threads),
            "NICELIST_DYNAMODB_BATCHES_IN_FLIGHT": str(self.dynamodb_batches_in_flight),
            "NICELIST_DYNAMODB_PARAMETER_VALIDATION": "1" if self.dynamodb_parameter_validation else "0",
            "NICELIST_DYNAMODB_OVERLAP_BATCHES": "1" if self.dynamodb_overlap_batches else "0",
            "NICELIST_DYNAMODB_PREBUILT_JSON": "1" if self.dynamodb_prebuilt_json else "0",
            **_retry_to_env("NICELIST_SINK", self.sink_retry),
            **_retry_to_env("NICELIST_CHECKPOINT", self.checkpoint_retry),
            "NICELIST_DYNAMODB_WAIT_POLL_S": repr(self.dynamodb_wait_poll_s),
            "NICELIST_CHECKPOINT_WHILE_WAITING_AFTER_S": repr(self.checkpoint_while_waiting_after_s),
            "NICELIST_MAX_FUTURE_SKEW_MS": str(self.max_future_skew_ms),
        }


def _retry_from_env(env: Mapping[str, str], prefix: str, default: RetryPolicy) -> RetryPolicy:
    """``<prefix>_MAX_ATTEMPTS``, ``<prefix>_BASE_DELAY_S``, ``<prefix>_MAX_DELAY_S``."""
    return RetryPolicy(
        max_attempts=int(env.get(f"{prefix}_MAX_ATTEMPTS", default.max_attempts)),
        base_delay_s=float(env.get(f"{prefix}_BASE_DELAY_S", default.base_delay_s)),
        max_delay_s=float(env.get(f"{prefix}_MAX_DELAY_S", default.max_delay_s)),
    )


def _retry_to_env(prefix: str, policy: RetryPolicy) -> dict[str, str]:
    return {
        f"{prefix}_MAX_ATTEMPTS": str(policy.max_attempts),
        f"{prefix}_BASE_DELAY_S": repr(policy.base_delay_s),
        f"{prefix}_MAX_DELAY_S": repr(policy.max_delay_s),
    }
