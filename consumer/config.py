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
    #: concurrent conditional writes to the kid table
    dynamodb_threads: int = 8
    #: how long a sink keeps retrying throttling and 5xx before the processor gives up (exits)
    sink_retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: retries of a throttled checkpoint; a checkpoint that still fails is skipped, not fatal
    checkpoint_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5))
    #: events observed more than this far past their record's arrival at Kinesis are dead-lettered
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS

    def __post_init__(self) -> None:
        if self.archive_max_file_bytes < 1:
            raise ConfigError(f"archive_max_file_bytes must be positive, got {self.archive_max_file_bytes}")
        if self.archive_max_file_age_s <= 0:
            raise ConfigError(f"archive_max_file_age_s must be positive, got {self.archive_max_file_age_s}")
        if not 1 <= self.dynamodb_threads <= 64:
            raise ConfigError(f"dynamodb_threads must be 1..64, got {self.dynamodb_threads}")
        if not 0 <= self.max_future_skew_ms <= MAX_FUTURE_SKEW_LIMIT_MS:
            raise ConfigError(
                f"max_future_skew_ms must be 0..{MAX_FUTURE_SKEW_LIMIT_MS}, got {self.max_future_skew_ms}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProcessorConfig:
        """``NICELIST_ARCHIVE_MAX_FILE_BYTES``, ``NICELIST_ARCHIVE_MAX_FILE_AGE_S``,
        ``NICELIST_DYNAMODB_THREADS``, ``NICELIST_SINK_MAX_ATTEMPTS``, ``NICELIST_SINK_BASE_DELAY_S``,
        ``NICELIST_SINK_MAX_DELAY_S``, ``NICELIST_MAX_FUTURE_SKEW_MS``,
        plus the names and AWS settings of :mod:`foundation.settings`."""
        env = os.environ if environ is None else environ
        defaults = cls()
        try:
            retry = RetryPolicy(
                max_attempts=int(env.get("NICELIST_SINK_MAX_ATTEMPTS", defaults.sink_retry.max_attempts)),
                base_delay_s=float(env.get("NICELIST_SINK_BASE_DELAY_S", defaults.sink_retry.base_delay_s)),
                max_delay_s=float(env.get("NICELIST_SINK_MAX_DELAY_S", defaults.sink_retry.max_delay_s)),
            )
            return cls(
                names=PipelineNames.from_env(env),
                aws=AwsSettings.from_env(env),
                archive_max_file_bytes=int(env.get("NICELIST_ARCHIVE_MAX_FILE_BYTES", defaults.archive_max_file_bytes)),
                archive_max_file_age_s=float(
                    env.get("NICELIST_ARCHIVE_MAX_FILE_AGE_S", defaults.archive_max_file_age_s)
                ),
                dynamodb_threads=int(env.get("NICELIST_DYNAMODB_THREADS", defaults.dynamodb_threads)),
                sink_retry=retry,
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
            "NICELIST_DYNAMODB_THREADS": str(self.dynamodb_threads),
            "NICELIST_SINK_MAX_ATTEMPTS": str(self.sink_retry.max_attempts),
            "NICELIST_SINK_BASE_DELAY_S": repr(self.sink_retry.base_delay_s),
            "NICELIST_SINK_MAX_DELAY_S": repr(self.sink_retry.max_delay_s),
            "NICELIST_MAX_FUTURE_SKEW_MS": str(self.max_future_skew_ms),
        }
