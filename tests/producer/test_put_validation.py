"""put() refuses every invalid input with producer.ValidationError naming the field, and nothing
else: no raw TypeError, UnicodeEncodeError, OverflowError, RecursionError (issue 12, class 5);
what it accepts DynamoDB can store (class 1); observed_at is bounded by the producer's clock (class 2)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from consumer.dedupe import to_item
from consumer.records import DecodedEvent, KinesisRecord
from foundation.limits import DYNAMODB_MAX_ITEM_BYTES, DYNAMODB_MAX_PARTITION_KEY_BYTES
from producer import Producer, ProducerConfig, ProducerError, ValidationError
from schemas._validate import APP_VERSION_MAX_CHARS, FIELDS, ID_MAX_CHARS, NOTE_MAX_CHARS
from tests.factories import make_event
from tests.producer.test_invariants import RecordingKinesis

NOW = 1_766_448_000_000  # the producer's injected clock
SKEW_MS = schemas.DEFAULT_MAX_FUTURE_SKEW_MS


@pytest.fixture(scope="module")
def producer() -> Iterator[Producer]:
    config = ProducerConfig(
        stream_name="s", kinesis_client=RecordingKinesis(), spool_dir=None, linger_ms=1, max_buffered_bytes=1 << 26
    )
    with Producer(config, now_ms=lambda: NOW) as p:
        yield p


class BrokenMapping(Mapping[str, Any]):
    """A Mapping whose reads fail: a bug in the caller's type, refused as a bad event."""

    def __getitem__(self, key: str) -> Any:
        raise TypeError("broken __getitem__")

    def __iter__(self) -> Iterator[str]:
        return iter(["kid_id"])

    def __len__(self) -> int:
        return 1


NESTED: list[Any] = []
for _ in range(50_000):
    NESTED = [NESTED]

HOSTILE = [
    (make_event(event_id=str(uuid.uuid4()) + "\n"), "event_id"),
    (make_event(event_id=10**5000), "event_id"),
    (make_event(kid_id="kid-\ud800"), "kid_id"),
    (make_event(elf_id="elf-\udfff"), "elf_id"),
    (make_event(note="\ud83d"), "note"),
    (make_event(app_version="\udc00"), "app_version"),
    (make_event(behaviour=["NICE"]), "behaviour"),
    (make_event(behaviour=NESTED), "behaviour"),
    (make_event(kid_id=NESTED), "kid_id"),
    (make_event(observed_at=10**5000), "observed_at"),
    (make_event(observed_at=float("inf")), "observed_at"),
    (make_event(observed_at=datetime(9999, 12, 31, tzinfo=UTC)), "observed_at"),
    (make_event(location={"lat": 10**400, "lon": 0}), "location.lat"),
    (make_event(location={"lat": float("nan"), "lon": 0}), "location.lat"),
    (make_event(location={"lat": 0, "lon": float("inf")}), "location.lon"),
    (make_event(location={"lat": 1e-131, "lon": 0}), "location.lat"),
    (make_event(location={"lat": 0, "lon": -5e-324}), "location.lon"),
    (make_event(location=NESTED), "location"),
    ({**make_event(), 10**5000: 1}, "<int>"),
    ({**make_event(), ("a",) * 3: 1}, "('a', 'a', 'a')"),
    (BrokenMapping(), "event"),
    (NESTED, "event"),
    (None, "event"),
]


@pytest.mark.parametrize(("event", "field"), HOSTILE)
def test_hostile_input_is_a_validation_error_naming_the_field(producer: Producer, event: Any, field: str) -> None:
    before = producer.metrics().accepted
    with pytest.raises(ValidationError) as caught:
        producer.put(event)
    assert caught.value.field == field
    assert isinstance(caught.value, ProducerError) and isinstance(caught.value, schemas.ValidationError)
    assert producer.metrics().accepted == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
odd_values = (
    json_values
    | st.integers(min_value=10**300, max_value=10**5000)
    | st.text(st.characters(categories=["Cs", "Co", "Cc", "Zs"]), max_size=5)
    | st.binary(max_size=5)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.uuids().map(lambda u: str(u).upper())
    | st.uuids().map(lambda u: f"{u}\n")
    | st.sampled_from([1e-200, -5e-324, float("inf"), float("nan"), "NICE", "NAUGHTY", NOW, NOW + SKEW_MS + 1])
)
field_values = {name: odd_values for name in FIELDS} | {
    "event_id": st.uuids().map(str) | odd_values,
    "kid_id": st.text(min_size=1, max_size=ID_MAX_CHARS) | odd_values,
    "elf_id": st.text(min_size=1, max_size=ID_MAX_CHARS) | odd_values,
    "behaviour": st.sampled_from(["NICE", "NAUGHTY"]) | odd_values,
    "observed_at": st.integers(NOW - 10**9, NOW + SKEW_MS + 10) | odd_values,
    "location": st.fixed_dictionaries({"lat": odd_values, "lon": odd_values}) | odd_values,
}
arbitrary_events = (
    st.fixed_dictionaries({}, optional=field_values)
    | st.dictionaries(st.sampled_from(sorted(FIELDS)) | st.text(max_size=8) | st.integers(), odd_values, max_size=9)
    | odd_values
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arbitrary_events)
def test_put_of_anything_is_accepted_or_a_validation_error(producer: Producer, event: Any) -> None:
    try:
        future = producer.put(event)
    except ValidationError as refusal:
        assert refusal.field and refusal.problem
        return
    assert future is not None
    # what was accepted decodes, fits DynamoDB's limits and obeys the clock skew bound
    accepted = schemas.validate_event(event, now_ms=NOW)
    assert accepted["observed_at"] <= NOW + SKEW_MS
    location = accepted["location"]
    if location is not None:
        assert schemas.dynamodb_number_problem(location["lat"]) is None
        assert schemas.dynamodb_number_problem(location["lon"]) is None


# --- class 1: what put() accepts, DynamoDB stores (limits from foundation.limits)
def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings as UTF-8, numbers as digits, generous)."""

    def size(value: dict[str, Any]) -> int:
        (kind, inner), *_ = value.items()
        if kind == "M":
            return 3 + sum(len(k.encode()) + size(v) for k, v in inner.items())
        return len(str(inner).encode("utf-8")) + 1

    return sum(len(name.encode()) + size(value) for name, value in item.items())


def test_the_largest_event_put_accepts_fits_a_dynamodb_item_and_key(producer: Producer) -> None:
    four_bytes = "\U0001f385"  # Santa: 4 bytes of UTF-8 per character, the worst case
    event = make_event(
        kid_id=four_bytes * ID_MAX_CHARS,
        elf_id=four_bytes * ID_MAX_CHARS,
        note=four_bytes * NOTE_MAX_CHARS,
        app_version=four_bytes * APP_VERSION_MAX_CHARS,
        location={"lat": -89.12345678901234, "lon": 179.12345678901234},
        observed_at=NOW + SKEW_MS,
    )
    producer.put(event)  # accepted
    assert len(event["kid_id"].encode("utf-8")) <= DYNAMODB_MAX_PARTITION_KEY_BYTES
    data = schemas.encode_event(event)
    record = KinesisRecord(
        shard_id="shardId-000000000000",
        sequence_number="9" * 56,
        subsequence_number=10**6,
        partition_key="k" * 256,
        arrived_at_ms=NOW,
        data=data,
    )
    item = to_item(DecodedEvent(record=record, event=schemas.decode_event(data), writer_fingerprint_hex="0" * 16), NOW)
    assert item_bytes(item) <= DYNAMODB_MAX_ITEM_BYTES
    assert all(schemas.dynamodb_number_problem(json.loads(v["N"])) is None for v in item.values() if "N" in v)


@pytest.mark.parametrize("value", [1e-130, -1e-130, 0.0, -0.0, 90, -90, 45.123456789012345])
def test_coordinates_at_the_dynamodb_limits_are_accepted(producer: Producer, value: float) -> None:
    assert producer.put(make_event(location={"lat": value, "lon": value}))


# --- class 2: observed_at at most max_future_skew_s past the producer's clock
def test_observed_at_past_the_skew_is_refused_naming_the_field(producer: Producer) -> None:
    assert producer.put(make_event(observed_at=NOW + SKEW_MS))
    for late in (NOW + SKEW_MS + 1, 253_402_300_799_999, datetime.fromtimestamp(NOW / 1000 + 3600, tz=UTC)):
        with pytest.raises(ValidationError) as caught:
            producer.put(make_event(observed_at=late))
        assert caught.value.field == "observed_at" and "clock skew" in caught.value.problem


def test_the_skew_is_configurable_and_follows_the_injected_clock() -> None:
    clock = [NOW]
    config = ProducerConfig(stream_name="s", kinesis_client=RecordingKinesis(), spool_dir=None, max_future_skew_s=1)
    with Producer(config, now_ms=lambda: clock[0]) as producer:
        assert producer.put(make_event(observed_at=NOW + 1000))
        with pytest.raises(ValidationError, match="^observed_at: "):
            producer.put(make_event(observed_at=NOW + 1001))
        clock[0] += 1
        assert producer.put(make_event(observed_at=NOW + 1001))
        when = datetime.fromtimestamp(NOW / 1000, tz=UTC) + timedelta(seconds=2)
        with pytest.raises(ValidationError, match="^observed_at: "):
            producer.put(make_event(observed_at=when))
        assert producer.put({"kid_id": "k", "elf_id": "e", "behaviour": "NICE"})  # filled in: now
