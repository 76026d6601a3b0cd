"""Strict reader of KPL-aggregated records (the aggregation format of amazon-kinesis-producer).

The worker itself never deaggregates: the KCL (3.x ``ProcessTask`` -> ``AggregatorUtil``)
deaggregates every record it reads and passes a record through whole only when it cannot parse
it, so an aggregate that reaches a record processor is either damaged or nested inside another
aggregate. Deaggregating a nested one here would number its user records 0, 1, ... again, the
identities of its siblings. :func:`aggregate_problem` says which of the two it is, cheaply (the
digest, no parse), for the dead letter's reason; :func:`deaggregate` remains for tools and tests.

Layout: magic ``F3 89 9A C2``, a protobuf ``AggregatedRecord``, then the MD5 digest of the
protobuf bytes. Written here (about 60 lines of protobuf wire format) instead of using
aws-kinesis-agg's deaggregator, which inserts its folder into ``sys.path``, prints errors to
stderr and silently drops the rest of a bad record: anything wrong here raises instead, so the
whole record can go to the dead-letter prefix.

    message AggregatedRecord {
      repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
      repeated Record records = 3; }
    message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
      required bytes data = 3; repeated Tag tags = 4; }
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from foundation.kpl import DIGEST_BYTES, MAGIC

from ._errors import AggregationError

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user record of an aggregate: its partition key and data, in aggregate order."""

    partition_key: str
    data: bytes


def is_aggregated(data: bytes) -> bool:
    """Whether ``data`` claims to be a KPL aggregate (starts with the magic)."""
    return data[: len(MAGIC)] == MAGIC


def aggregate_problem(data: bytes) -> str | None:
    """What is wrong with a record that starts with the KPL magic: None when its framing and MD5
    digest are intact (a well-formed aggregate), else the flaw. Costs one MD5, never a parse."""
    if len(data) < len(MAGIC) + DIGEST_BYTES:
        return f"{len(data)} bytes is shorter than magic plus digest"
    if hashlib.md5(data[len(MAGIC) : -DIGEST_BYTES]).digest() != data[-DIGEST_BYTES:]:  # format checksum
        return "MD5 digest does not match the aggregated record"
    return None


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise AggregationError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise AggregationError("varint longer than 64 bits")


def _fields(buf: memoryview) -> list[tuple[int, int | memoryview]]:
    """(field number, value) pairs of one protobuf message; length-delimited values as views."""
    fields: list[tuple[int, int | memoryview]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise AggregationError("field number 0")
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
            fields.append((number, value))
        elif wire == _LENGTH:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise AggregationError("length-delimited field runs past the end")
            fields.append((number, buf[pos : pos + size]))
            pos += size
        elif wire in (_FIXED64, _FIXED32):
            pos += 8 if wire == _FIXED64 else 4
            if pos > len(buf):
                raise AggregationError("fixed-width field runs past the end")
        else:
            raise AggregationError(f"unsupported wire type {wire}")
    return fields


def _text(value: int | memoryview, what: str) -> str:
    if not isinstance(value, memoryview):
        raise AggregationError(f"{what} is not length-delimited")
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AggregationError(f"{what} is not UTF-8") from exc


def deaggregate(data: bytes) -> list[UserRecord]:
    """The user records of a KPL aggregate, in order; raise AggregationError for anything invalid."""
    if not is_aggregated(data):
        raise AggregationError("missing the KPL aggregation magic")
    body = data[len(MAGIC) : len(data) - DIGEST_BYTES]
    if len(data) < len(MAGIC) + DIGEST_BYTES:
        raise AggregationError(f"{len(data)} bytes is shorter than magic plus digest")
    if hashlib.md5(body).digest() != data[-DIGEST_BYTES:]:  # the format's checksum, not security
        raise AggregationError("MD5 digest does not match the aggregated record")
    keys: list[str] = []
    raw_records: list[memoryview] = []
    for number, value in _fields(memoryview(body)):
        if number == 1:
            keys.append(_text(value, "partition key"))
        elif number == 3:
            if not isinstance(value, memoryview):
                raise AggregationError("record is not length-delimited")
            raw_records.append(value)
    records: list[UserRecord] = []
    for index, raw in enumerate(raw_records):
        key_index: int | None = None
        payload: bytes | None = None
        for number, value in _fields(raw):
            if number == 1 and isinstance(value, int):
                key_index = value
            elif number == 3 and isinstance(value, memoryview):
                payload = bytes(value)
        if key_index is None or payload is None:
            raise AggregationError(f"user record {index} lacks its partition key index or data")
        if key_index >= len(keys):
            raise AggregationError(f"user record {index} names partition key {key_index} of {len(keys)}")
        records.append(UserRecord(keys[key_index], payload))
    if not records:
        raise AggregationError("aggregated record holds no user records")
    return records
