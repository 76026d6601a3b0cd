"""Fixes to moto 5.2.5's DynamoDB that the consumer's write path and its tests need.

- ``number_limits``: Number values outside DynamoDB's range or precision are refused with a
  ValidationException, as DynamoDB does (moto stores any decimal);
- ``partiql_batch``: BatchExecuteStatement with parameterized (``?``) INSERT and UPDATE
  statements, per-statement conditions and error codes, and per-statement injected faults
  (moto 5.2.5 raises inside py-partiql-parser on a ``?``).

Applied in the server process only, and only on the pinned moto version
(:func:`localaws._kinesis_fixes.check_moto_version`).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_applied: list[str] = []


def apply_all() -> list[str]:
    from localaws._kinesis_fixes import check_moto_version

    check_moto_version()
    if _applied:
        return list(_applied)
    from localaws._dynamodb_fixes import number_limits, partiql_batch

    for module in (number_limits, partiql_batch):
        module.apply()
        _applied.append(module.__name__.rsplit(".", 1)[-1])
    logger.info("moto DynamoDB fixes applied: %s", ", ".join(_applied))
    return list(_applied)
