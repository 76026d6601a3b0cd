"""The Avro object container file of one dead letter, written straight from the refused user
records: streaming, with no row dictionaries and no generic encoder.

A Kinesis record of many parts (a 1 MiB KPL aggregate of 174,752 empty user records) gives as
many rows, and all of them share the shard, the sequence number, the partition key, both times
and, nearly always, the reason: those fields are encoded once per run of equal values, and each
row adds only its sub-sequence number and its data. Rows are compressed a block at a time, so
memory is one block plus the compressed output.

The format (Avro 1.11 specification, "Object Container Files"): ``Obj\\x01``, a metadata map
(``avro.schema``, ``avro.codec``), a 16-byte sync marker, then blocks of (row count, byte
count, raw-deflate data, sync marker). Fields are written in the order of the ``dead_letter``
schema; ``int``/``long`` are zig-zag varints, ``string``/``bytes`` a length then the bytes.
Tests read every file back with fastavro.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

#: raw bytes of rows compressed at a time (fastavro's default sync interval is 16,000)
BLOCK_BYTES = 64 * 1024
_MAGIC = b"Obj\x01"
_TABLE_SIZE = 1 << 14


def _varint(n: int) -> bytes:
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@cache
def _tables() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Varints of 0 .. 2**14 - 1, and the same 14 bits as the two leading bytes of a longer
    varint (about 1 MiB, built on the first dead letter)."""
    whole = tuple(_varint(n) for n in range(_TABLE_SIZE))
    leading = tuple(bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80)) for n in range(_TABLE_SIZE))
    return whole, leading


def zigzag(value: int) -> bytes:
    """An Avro ``long`` (zig-zag, then a varint): by table up to 2**28, the part numbers and data
    lengths of every row (a Python loop per byte cost half the writer's time)."""
    n = (value << 1) ^ (value >> 63)
    if n < _TABLE_SIZE * _TABLE_SIZE:
        whole, leading = _tables()
        return whole[n] if n < _TABLE_SIZE else leading[n & (_TABLE_SIZE - 1)] + whole[n >> 14]
    return _varint(n)


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return zigzag(len(raw)) + raw


def _header(schema: dict[str, Any], sync: bytes) -> bytes:
    meta = {b"avro.schema": json.dumps(schema, separators=(",", ":")).encode(), b"avro.codec": b"deflate"}
    parts = [_MAGIC, zigzag(len(meta))]
    for key, value in meta.items():
        parts += [zigzag(len(key)), key, zigzag(len(value)), value]
    parts += [zigzag(0), sync]
    return b"".join(parts)


def encode_dead_letters(
    schema: dict[str, Any],
    items: Iterable[Any],
    *,
    failed_at_ms: int,
    reason_of: Callable[[Any], str],
    sync: bytes,
) -> bytes:
    """The container file of ``items`` (:class:`~consumer.records.Undecodable`, in row order),
    each row's reason given by ``reason_of``; ``schema`` is the ``dead_letter`` schema, ``sync``
    the file's 16-byte sync marker (the same marker gives the same bytes: uploads are
    repeatable)."""
    if len(sync) != 16:
        raise ValueError("an Avro sync marker is 16 bytes")
    out = [_header(schema, sync)]
    block: list[bytes] = []
    block_rows = block_bytes = 0
    head_key: tuple[str, str] | None = None
    head = b""
    middle_key: tuple[str, int, str] | None = None
    middle = b""
    failed_at = zigzag(failed_at_ms)

    def flush() -> None:
        nonlocal block, block_rows, block_bytes
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        data = compressor.compress(b"".join(block)) + compressor.flush()
        out.extend((zigzag(block_rows), zigzag(len(data)), data, sync))
        block, block_rows, block_bytes = [], 0, 0

    for item in items:
        record = item.record
        if head_key != (record.shard_id, record.sequence_number):
            head_key = (record.shard_id, record.sequence_number)
            head = _text(record.shard_id) + _text(record.sequence_number)
        reason = reason_of(item)
        if middle_key != (record.partition_key, record.arrived_at_ms, reason):
            middle_key = (record.partition_key, record.arrived_at_ms, reason)
            middle = _text(record.partition_key) + zigzag(record.arrived_at_ms) + failed_at + _text(reason)
        data = record.data
        row = b"".join((head, zigzag(record.subsequence_number), middle, zigzag(len(data)), data))
        block.append(row)
        block_rows += 1
        block_bytes += len(row)
        if block_bytes >= BLOCK_BYTES:
            flush()
    if block_rows:
        flush()
    return b"".join(out)
