"""What every provisioning step shares: the errors, the config, the report and the waiter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from foundation.polling import PollTimeout, wait_until

logger = logging.getLogger(__name__)

#: the AWS managed key for Kinesis: no key policy to write, no IAM permission needed to use it
DEFAULT_STREAM_KMS_KEY = "alias/aws/kinesis"


class ProvisionError(Exception):
    """Root of the provisioning errors."""


class ResourceConflictError(ProvisionError):
    """A resource of that name exists but is not usable as ours; not retryable."""


class ProvisionTimeoutError(ProvisionError):
    """A resource was not ready before the deadline; running again resumes the wait."""


@dataclass(frozen=True, kw_only=True)
class ProvisionConfig:
    """How provisioning waits and encrypts."""

    #: longest wait for each resource to become ACTIVE / visible
    timeout_s: float = 300.0
    poll_interval_s: float = 1.0
    #: S3 default encryption: None for SSE-S3 (AES256), else a KMS key id/ARN/alias (SSE-KMS)
    bucket_kms_key_id: str | None = None
    #: Kinesis server-side encryption with ``stream_kms_key_id``
    stream_encryption: bool = True
    stream_kms_key_id: str = DEFAULT_STREAM_KMS_KEY
    #: S3 versioning on the archive bucket (a deleted or damaged archive object can be restored)
    bucket_versioning: bool = True
    #: DynamoDB point-in-time recovery (35 days of restores) on the kid table
    point_in_time_recovery: bool = True
    #: DynamoDB deletion protection on the kid table
    deletion_protection: bool = True
    #: the kid table's warm write throughput (WarmThroughput.WriteUnitsPerSecond: write units/s it
    #: serves at once, e.g. the figure ``nicelist reshard plan`` prints for the peak); None: DynamoDB's
    #: default. Raised on an existing table when lower, never lowered.
    warm_write_units: int | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be positive")
        if self.bucket_kms_key_id == "":
            raise ValueError("bucket_kms_key_id must be None or a key id")
        if not self.stream_kms_key_id:
            raise ValueError("stream_kms_key_id must be a key id, ARN or alias")
        if self.warm_write_units is not None and self.warm_write_units < 1:
            raise ValueError("warm_write_units must be positive")

    @classmethod
    def from_env(cls, environ: Any = None) -> ProvisionConfig:
        """No variables of its own: the defaults, overridden by CLI flags."""
        return cls()


@dataclass
class ProvisionReport:
    """What provisioning did: one line per action, and whether anything changed."""

    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def did(self, message: str) -> None:
        logger.info("%s", message)
        self.actions.append(message)

    def note(self, message: str) -> None:
        logger.info("%s", message)
        self.notes.append(message)


class Waiter:
    """Polls a probe until it returns something, or raises ProvisionTimeoutError at the deadline."""

    def __init__(self, config: ProvisionConfig, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._config = config
        self._clock = clock
        self._sleep = sleep

    def until(self, what: str, probe: Callable[[], Any]) -> Any:
        def ready() -> tuple[Any] | None:
            result = probe()
            if result is None:
                logger.debug("waiting for %s", what)
                return None
            return (result,)

        try:
            (result,) = wait_until(
                ready,
                timeout_s=self._config.timeout_s,
                what=what,
                poll_s=self._config.poll_interval_s,
                clock=self._clock,
                sleep=self._sleep,
            )
        except PollTimeout as exc:
            raise ProvisionTimeoutError(f"{what}: not ready after {self._config.timeout_s:.0f} s") from exc
        return result
