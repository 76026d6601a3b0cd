"""Speed-ups of moto 5.2.5 that change no behaviour, one module per concern.

- ``dynamodb_conditions``: a condition expression is lexed once per distinct text, and parsed
  once per request instead of twice (the response layer validates it, then the backend parses
  it again with the same names and values).

Applied in the server process only, and only on the pinned moto version.
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
    from localaws._moto_speedups import dynamodb_conditions

    for module in (dynamodb_conditions,):
        module.apply()
        _applied.append(module.__name__.rsplit(".", 1)[-1])
    logger.info("moto speed-ups applied: %s", ", ".join(_applied))
    return list(_applied)
