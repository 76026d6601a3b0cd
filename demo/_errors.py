"""Errors raised by the demo.

DemoError                the demo could not run to the end (a step failed or timed out)
└── CaughtUpTimeout      the workers did not archive every produced event in time

A bad setting raises :class:`foundation.errors.ConfigError`.
"""

from __future__ import annotations


class DemoError(Exception):
    """A demo step failed."""


class CaughtUpTimeout(DemoError):
    """The workers did not archive every produced event before the deadline."""

    def __init__(self, produced: int, archived: int, waited_s: float) -> None:
        self.produced = produced
        self.archived = archived
        self.waited_s = waited_s
        super().__init__(f"after {waited_s:.0f} s only {archived} of {produced} events are archived")
