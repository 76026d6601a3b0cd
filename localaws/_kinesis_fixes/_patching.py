"""Replace attributes of moto's classes (a function, not attribute assignment, so mypy allows it)."""

from __future__ import annotations


def patch(owner: type, name: str, value: object) -> None:
    setattr(owner, name, value)
