"""Fixes to moto 5.2.5's Kinesis that the KCL and our tests need, one module per concern.

- ``record_index``: a shard's records in a list indexed by sequence number (puts and gets cost
  what they handle, not the shard's size);
- ``routing``: puts go to the open shard whose range holds the key, both ends inclusive;
- ``resharding``: split/merge keep lineage, close parents with an EndingSequenceNumber and
  never copy their records; OpenShardCount counts open shards;
- ``shard_end``: GetRecords past a closed shard's last record returns ChildShards and no
  NextShardIterator (the KCL's SHARD_END);
- ``list_shards``: ShardFilter, ExclusiveStartShardId and NextToken pagination;
- ``fast_responses``: PutRecords/GetRecords serialised with ``json.dumps`` (JSON protocol).

Each module patches moto's classes in the server process only (never a test process, where
other tests use moto in-process), and only on the moto version it was written against
(:data:`MOTO_VERSION`): :func:`apply_all` refuses any other version.
"""

from __future__ import annotations

import logging

from .._errors import UnsupportedMotoError

logger = logging.getLogger(__name__)

#: the moto release these patches replace code of (see setup.py's pin)
MOTO_VERSION = "5.2.5"

_applied: list[str] = []


def check_moto_version() -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise UnsupportedMotoError(
            f"localaws' Kinesis fixes are written for moto {MOTO_VERSION}, found {moto.__version__}; "
            "install moto==5.2.5 or serve with --no-kinesis-fixes"
        )


def apply_all() -> list[str]:
    """Apply every fix once; returns their names."""
    check_moto_version()
    if _applied:
        return list(_applied)
    from localaws._kinesis_fixes import (
        fast_responses,
        list_shards,
        record_index,
        resharding,
        routing,
        shard_end,
    )

    for module in (record_index, routing, resharding, shard_end, list_shards, fast_responses):
        module.apply()
        _applied.append(module.__name__.rsplit(".", 1)[-1])
    logger.info("moto Kinesis fixes applied: %s", ", ".join(_applied))
    return list(_applied)
