from __future__ import annotations

import hashlib

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from hypothesis import given
from hypothesis import strategies as st

from consumer import AggregationError
from consumer._aggregation import MAGIC, deaggregate, is_aggregated


def aggregate(pairs: list[tuple[str, bytes]]) -> bytes:
    aggregator = RecordAggregator()
    for key, data in pairs:
        assert aggregator.add_user_record(key, data) is None
    _, _, blob = aggregator.clear_and_get().get_contents()
    return bytes(blob)


@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.binary(max_size=200)), min_size=1, max_size=30))
def test_round_trip_with_aws_kinesis_agg(pairs: list[tuple[str, bytes]]) -> None:
    records = deaggregate(aggregate(pairs))
    assert [(r.partition_key, r.data) for r in records] == pairs


def test_plain_data_is_not_aggregated() -> None:
    assert not is_aggregated(b"\xc3\x01rest")
    assert is_aggregated(aggregate([("k", b"x")]))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),  # digest mismatch
        lambda blob: blob[:10],  # truncated
        lambda blob: MAGIC + b"\x00" * 3,  # shorter than a digest
        lambda blob: blob[:6] + bytes([blob[6] ^ 0xFF]) + blob[7:],  # body changed, digest stale
    ],
)
def test_corrupt_aggregates_raise(mutate: object) -> None:
    blob = aggregate([("a", b"one"), ("b", b"two")])
    with pytest.raises(AggregationError):
        deaggregate(mutate(blob))  # type: ignore[operator]


def _framed(body: bytes) -> bytes:
    return MAGIC + body + hashlib.md5(body).digest()


def test_valid_digest_but_bad_protobuf_raises() -> None:
    with pytest.raises(AggregationError, match="runs past the end"):
        deaggregate(_framed(b"\x0a\x05ab"))  # key table entry claims 5 bytes, has 2


def test_partition_key_index_out_of_range_raises() -> None:
    record = b"\x08\x03\x1a\x01x"  # partition_key_index=3, data="x"
    body = b"\x0a\x01k" + b"\x1a" + bytes([len(record)]) + record
    with pytest.raises(AggregationError, match="partition key 3 of 1"):
        deaggregate(_framed(body))


def test_empty_aggregate_raises() -> None:
    with pytest.raises(AggregationError, match="no user records"):
        deaggregate(_framed(b"\x0a\x01k"))
