"""The one configuration error every nicelist package raises (or subclasses).

ConfigError(ValueError)    a setting that cannot work; ``setting`` names it, never retryable
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value that cannot work; ``setting`` names it."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")
