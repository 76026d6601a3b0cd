"""Errors raised by the ops package (demo, load generator, reconcile, Athena DDL).

OpsError                         root: anything this package refuses or fails at
├── ConfigError                  a config that cannot work (names the setting); never retryable
├── SourceError                  reading the archive or the table failed (wraps the ClientError)
└── DemoError                    the demo could not run to the end (a step failed or timed out)
    └── CaughtUpTimeout          the workers did not archive every produced event in time
"""

from __future__ import annotations


class OpsError(Exception):
    """Root of every error raised by :mod:`ops`."""


class ConfigError(OpsError, ValueError):
    """A configuration value that cannot work; ``setting`` names it."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class SourceError(OpsError):
    """Reading the S3 archive or the DynamoDB table failed; ``code`` is the AWS error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class DemoError(OpsError):
    """A demo step failed."""


class CaughtUpTimeout(DemoError):
    """The workers did not archive every produced event before the deadline."""

    def __init__(self, produced: int, archived: int, waited_s: float) -> None:
        self.produced = produced
        self.archived = archived
        self.waited_s = waited_s
        super().__init__(f"after {waited_s:.0f} s only {archived} of {produced} events are archived")
