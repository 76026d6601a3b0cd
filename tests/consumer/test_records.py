from __future__ import annotations

import uuid

from aws_kinesis_agg.aggregator import RecordAggregator
from fastavro import schemaless_writer

from consumer.records import DecodedEvent, KinesisRecord, Undecodable, decode, from_kcl
from schemas import BEHAVIOUR_EVENT, DEFAULT_MAX_FUTURE_SKEW_MS, BehaviourEventCodec, encode_event, versions_of
from tests.factories import make_event

from .helpers import kcl_record

CODEC = BehaviourEventCodec()


def record(data: bytes, *, sequence: str = "49600", sub: int = 0, key: str = "pk") -> KinesisRecord:
    return KinesisRecord(
        shard_id="shardId-000000000003",
        sequence_number=sequence,
        subsequence_number=sub,
        partition_key=key,
        arrived_at_ms=1_766_448_000_000,
        data=data,
    )


def test_from_kcl_keeps_the_daemon_fields() -> None:
    data = encode_event(make_event())
    converted = from_kcl(kcl_record(data, sequence=123, sub=4, key="k", arrived_ms=1_766_448_000_123), "shard-9")
    assert converted == KinesisRecord("shard-9", "123", 4, "k", 1_766_448_000_123, data)
    assert converted.name == "shard-9-123-4"
    assert converted.position == (123, 4)


def test_plain_record_decodes_to_one_event() -> None:
    event = make_event(note="good", location={"lat": 1.5, "lon": -2.0}, app_version="2.1")
    [outcome] = decode(record(encode_event(event)), CODEC)
    assert isinstance(outcome, DecodedEvent)
    assert outcome.event == event
    assert outcome.writer_fingerprint_hex == CODEC.writer.fingerprint_hex
    assert outcome.record.subsequence_number == 0


def test_version_1_events_read_like_new_ones() -> None:
    v1 = versions_of(BEHAVIOUR_EVENT)[0]
    import io

    event = make_event()
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + v1.fingerprint)
    schemaless_writer(buffer, v1.parsed, event)
    [outcome] = decode(record(buffer.getvalue()), CODEC)
    assert isinstance(outcome, DecodedEvent)
    assert outcome.event == {**event, "app_version": None}
    assert outcome.writer_fingerprint_hex == v1.fingerprint_hex


def _aggregate(*parts: bytes) -> bytes:
    aggregator = RecordAggregator()
    for part in parts:
        aggregator.add_user_record("agg-key", part)
    _, _, blob = aggregator.clear_and_get().get_contents()
    return bytes(blob)


def test_a_nested_aggregate_is_one_dead_letter_with_its_own_identity() -> None:
    """The KCL deaggregated the outer aggregate; user record 1 is itself an aggregate. It must not
    be split again: its parts would be numbered 0, 1, 2, the identities of its siblings."""
    inner = _aggregate(encode_event(make_event()), b"not an event", encode_event(make_event()))
    siblings = [record(encode_event(make_event()), sequence="777", sub=0), record(inner, sequence="777", sub=1)]
    siblings.append(record(encode_event(make_event()), sequence="777", sub=2))
    outcomes = [outcome for r in siblings for outcome in decode(r, CODEC)]
    assert [type(o) for o in outcomes] == [DecodedEvent, Undecodable, DecodedEvent]
    names = [o.record.name for o in outcomes]
    assert names == [f"shardId-000000000003-777-{i}" for i in range(3)] and len(set(names)) == 3
    nested = outcomes[1]
    assert isinstance(nested, Undecodable) and nested.reason.startswith("nested KPL aggregate")
    assert nested.record.data == inner  # kept whole, replayable


def test_an_aggregate_of_empty_records_costs_one_outcome_without_parsing() -> None:
    blob = _aggregate(*[b""] * 2000)
    [outcome] = decode(record(blob), CODEC)
    assert isinstance(outcome, Undecodable) and "nested KPL aggregate" in outcome.reason


def test_garbage_and_broken_aggregates_become_dead_letters() -> None:
    [garbage] = decode(record(b"\x00\x01garbage"), CODEC)
    assert isinstance(garbage, Undecodable) and "NotSingleObjectError" in garbage.reason
    [broken] = decode(record(b"\xf3\x89\x9a\xc2" + b"\x00" * 20), CODEC)
    assert isinstance(broken, Undecodable) and "invalid KPL aggregate" in broken.reason
    assert broken.record.data.startswith(b"\xf3\x89\x9a\xc2")


def test_decodable_but_invalid_events_become_dead_letters() -> None:
    # an empty kid_id would fail as a DynamoDB key forever: refuse it here instead
    import io

    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + CODEC.writer.fingerprint)
    schemaless_writer(buffer, CODEC.writer.parsed, {**make_event(), "kid_id": "", "app_version": None})
    [outcome] = decode(record(buffer.getvalue()), CODEC)
    assert isinstance(outcome, Undecodable)
    assert "kid_id" in outcome.reason


def test_unknown_schema_fingerprint_is_a_dead_letter() -> None:
    data = encode_event(make_event(event_id=str(uuid.uuid4())))
    [outcome] = decode(record(data[:2] + b"\xff" * 8 + data[10:]), CODEC)
    assert isinstance(outcome, Undecodable) and "UnknownSchemaError" in outcome.reason


def test_an_event_observed_too_far_past_its_arrival_is_a_dead_letter() -> None:
    arrived = 1_766_448_000_000
    skew = DEFAULT_MAX_FUTURE_SKEW_MS
    at_limit = record(encode_event(make_event(observed_at=arrived + skew)))
    [ok] = decode(at_limit, CODEC, max_future_skew_ms=skew)
    assert isinstance(ok, DecodedEvent)
    year_9999 = record(encode_event(make_event(observed_at=253_402_300_799_000)))
    [far] = decode(year_9999, CODEC, max_future_skew_ms=skew)
    assert isinstance(far, Undecodable)
    assert "ApproximateArrivalTimestamp" in far.reason and f"max_future_skew_ms {skew}" in far.reason
    assert far.record.data == year_9999.data  # the event kept as sent, not clamped
    [unbounded] = decode(year_9999, CODEC)
    assert isinstance(unbounded, DecodedEvent)
