"""KPL aggregated records built by hand read back with aws-kinesis-agg's own deaggregator."""

from __future__ import annotations

import hashlib
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from foundation.limits import KINESIS_HASH_KEY_MAX
from producer._aggregate import MAGIC, empty_cost, encode_aggregated, record_cost, varint
from producer._partition import hash_key, random_partition_key, shard_index
from tests.factories import make_event


def deaggregate(blob: bytes, partition_key: str) -> list[dict[str, Any]]:
    record = {
        "Data": blob,
        "PartitionKey": partition_key,
        "SequenceNumber": "1",
        "ApproximateArrivalTimestamp": 0,
    }
    return [r["kinesis"] for r in iter_deaggregate_records([record], data_format="Boto3")]


def user_data(user_record: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(user_record["data"])


def even_shard_starts(shards: int) -> list[int]:
    """Starting hash keys of a stream created with ``shards`` shards (Kinesis splits evenly)."""
    step = (KINESIS_HASH_KEY_MAX + 1) // shards
    return [i * step for i in range(shards)]


def test_varint_matches_protobuf() -> None:
    assert varint(0) == b"\x00"
    assert varint(127) == b"\x7f"
    assert varint(128) == b"\x80\x01"
    assert varint(300) == b"\xac\x02"


def test_events_decode_through_the_deaggregator() -> None:
    events = [make_event(note="n" * 200), make_event(location={"lat": 1.5, "lon": -2.0}), make_event()]
    payloads = [schemas.encode_event(e) for e in events]
    key = random_partition_key()
    blob = encode_aggregated(key, payloads)
    assert blob.startswith(MAGIC)
    assert hashlib.md5(blob[4:-16]).digest() == blob[-16:]
    users = deaggregate(blob, key)
    assert [schemas.decode_event(user_data(u))["event_id"] for u in users] == [e["event_id"] for e in events]
    assert [u["subSequenceNumber"] for u in users] == [0, 1, 2]
    assert {u["partitionKey"] for u in users} == {key}


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(st.binary(min_size=0, max_size=20_000), min_size=1, max_size=30),
    key_bytes=st.binary(min_size=16, max_size=16),
)
def test_size_formula_is_exact_and_every_record_comes_back(records: list[bytes], key_bytes: bytes) -> None:
    key = key_bytes.hex()
    blob = encode_aggregated(key, records)
    assert len(blob) + len(key) == empty_cost(key) + sum(record_cost(len(r)) for r in records)
    users = deaggregate(blob, key)
    assert [user_data(u) for u in users] == records


@settings(max_examples=200, deadline=None)
@given(
    shards=st.integers(min_value=4, max_value=64),
    key_bytes=st.binary(min_size=16, max_size=16),
    count=st.integers(min_value=1, max_value=50),
)
def test_every_user_record_hashes_to_the_shard_that_receives_the_aggregate(
    shards: int, key_bytes: bytes, count: int
) -> None:
    """The KCL drops deaggregated records whose hash is outside the receiving shard's range."""
    key = random_partition_key(lambda n: key_bytes)
    starts = even_shard_starts(shards)
    receiving = shard_index(hash_key(key), starts)
    blob = encode_aggregated(key, [b"x" * i for i in range(count)])
    for user in deaggregate(blob, key):
        assert shard_index(hash_key(user["partitionKey"]), starts) == receiving


def test_random_keys_spread_over_shards() -> None:
    starts = even_shard_starts(8)
    hits = [0] * 8
    for _ in range(4000):
        hits[shard_index(hash_key(random_partition_key()), starts)] += 1
    assert min(hits) > 350  # 500 expected per shard; a fixed key would put 4000 on one
