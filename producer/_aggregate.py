"""KPL aggregated records, built by hand (pure).

Format (the Kinesis Producer Library's, read by the KCL and ``aws_kinesis_agg``): the magic
``F3 89 9A C2``, a protobuf ``AggregatedRecord``, then the MD5 digest of that protobuf::

    message AggregatedRecord {
      repeated string partition_key_table = 1;
      repeated string explicit_hash_key_table = 2;
      repeated Record records = 3;
    }
    message Record {
      required uint64 partition_key_index = 1;
      optional uint64 explicit_hash_key_index = 2;
      required bytes data = 3;
    }

Every aggregated record here has exactly one partition key, shared by all its user records, so
after deaggregation every user record hashes to the shard that received the aggregated record
(the KCL drops the ones that do not). With one key the framing of a user record is a constant
prefix that depends only on its length; this module writes those bytes directly instead of going
through ``aws_kinesis_agg.aggregator.AggRecord``, whose per-record size bookkeeping costs more
than the rest of the path (see ``bench/producer.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from foundation.kpl import DIGEST_BYTES, MAGIC

_PARTITION_KEY_TABLE = 0x0A  # field 1, length-delimited
_RECORDS = 0x1A  # field 3, length-delimited
_INDEX_ZERO = b"\x08\x00"  # Record.partition_key_index = 0
_DATA = b"\x1a"  # Record.data, field 3, length-delimited


def varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    if value < 0:
        raise ValueError(f"varint of a negative number: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _record_prefix(data_len: int) -> bytes:
    inner = _INDEX_ZERO + _DATA + varint(data_len)
    return bytes((_RECORDS,)) + varint(len(inner) + data_len) + inner


_PREFIXES: dict[int, bytes] = {}


def record_prefix(data_len: int) -> bytes:
    """The bytes that precede a user record of ``data_len`` bytes inside the protobuf."""
    prefix = _PREFIXES.get(data_len)
    if prefix is None:
        prefix = _PREFIXES[data_len] = _record_prefix(data_len)
    return prefix


def record_cost(data_len: int) -> int:
    """Bytes one user record of ``data_len`` bytes adds to an aggregated record."""
    return len(record_prefix(data_len)) + data_len


def _key_entry(partition_key: str) -> bytes:
    key = partition_key.encode("utf-8")
    return bytes((_PARTITION_KEY_TABLE,)) + varint(len(key)) + key


def empty_cost(partition_key: str) -> int:
    """Bytes of a PutRecords entry (data + partition key) for an aggregated record with no user records."""
    key_bytes = len(partition_key.encode("utf-8"))
    return len(MAGIC) + len(_key_entry(partition_key)) + DIGEST_BYTES + key_bytes


def encode_aggregated(partition_key: str, records: Iterable[bytes]) -> bytes:
    """The data blob of one aggregated record holding ``records`` under ``partition_key``.

    Its PutRecords entry size is ``len(blob) + len(partition_key.encode())``, which equals
    ``empty_cost(partition_key) + sum(record_cost(len(r)) for r in records)``.
    """
    parts = [_key_entry(partition_key)]
    for data in records:
        parts.append(record_prefix(len(data)))
        parts.append(data)
    body = b"".join(parts)
    return MAGIC + body + hashlib.md5(body, usedforsecurity=False).digest()
