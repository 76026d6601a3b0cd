"""The worker's own dead-letter writer: fastavro reads back exactly the rows its generic writer
would have written, and a dead letter of many parts is written without a row per part held."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.archive import dead_letter_files, encode_rows, read_rows
from consumer.records import KinesisRecord, Undecodable
from schemas import DEAD_LETTER

SHARD = "shardId-000000000007"


@st.composite
def refused_parts(draw: st.DrawFn) -> list[Undecodable]:
    sequence = str(draw(st.integers(min_value=0, max_value=10**56)))
    arrived = draw(st.integers(min_value=0, max_value=2**41))
    subs = draw(st.lists(st.integers(min_value=0, max_value=2**31), min_size=1, max_size=40, unique=True))
    keys = st.text(min_size=1, max_size=20)
    reasons = st.sampled_from(["NotSingleObjectError: empty", "ValidationError: kid_id ü", "x" * 1500])
    return [
        Undecodable(
            KinesisRecord(SHARD, sequence, sub, draw(keys), arrived, draw(st.binary(max_size=300))), draw(reasons)
        )
        for sub in subs
    ]


@settings(max_examples=60, deadline=None)
@given(refused_parts(), st.integers(min_value=0, max_value=2**42))
def test_the_dead_letter_writer_reads_back_as_the_generic_writer_would(parts: list[Undecodable], failed: int) -> None:
    [letter] = dead_letter_files(parts, failed_at_ms=failed)
    rows = [dict(row) for row in letter.rows]
    assert [r["subsequence_number"] for r in rows] == sorted(p.record.subsequence_number for p in parts)
    assert read_rows(letter.body) == read_rows(encode_rows(rows, DEAD_LETTER))
    assert letter.body == letter.body  # the same bytes each time it is read (a retried PUT sends the same)


def test_a_dead_letter_of_many_parts_is_written_in_bounded_memory() -> None:
    parts = [
        Undecodable(KinesisRecord(SHARD, "49" * 28, i, "pk", 1, b""), "NotSingleObjectError: empty")
        for i in range(50_000)
    ]
    [letter] = dead_letter_files(parts, failed_at_ms=2)
    tracemalloc.start()
    try:
        body = letter.body
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a row dict per part alone would be ~20 MiB here; the writer holds one block and the output
    assert peak < 4 * 1024 * 1024 + 2 * len(body), (peak, len(body))
    assert sum(1 for _ in read_rows(body)) == 50_000


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(min_value=0, max_value=2**29))
def test_longs_are_encoded_as_avro_does(value: int) -> None:
    import io

    import fastavro

    from consumer._dead_letter_avro import zigzag

    out = io.BytesIO()
    fastavro.schemaless_writer(out, "long", value)
    assert zigzag(value) == out.getvalue()
