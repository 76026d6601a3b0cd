"""The one configuration error every nicelist package raises (or subclasses).

ConfigError(ValueError)    a setting that cannot work; ``setting`` names it, never retryable
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value that cannot work; ``setting`` names it (``ConfigError(setting,
    problem)``), or one message says both (``ConfigError(message)``, ``setting`` then empty)."""

    def __init__(self, setting: str, problem: str | None = None) -> None:
        if problem is None:
            setting, problem = "", setting
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}" if setting else problem)
