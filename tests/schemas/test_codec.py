"""Codec round trips, single-object framing and schema evolution."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form
from hypothesis import given
from hypothesis import strategies as st

import schemas
from schemas import (
    BehaviourEventCodec,
    CorruptBodyError,
    DecodeError,
    NotSingleObjectError,
    SchemaError,
    UnknownSchemaError,
    decode_event,
    encode_event,
)
from schemas._fast_writer import FOR_FINGERPRINT
from tests.factories import make_event

texts = st.text(min_size=1, max_size=128)


def coordinates(bound: float) -> st.SearchStrategy[float]:
    """Valid coordinates: DynamoDB stores no magnitude between 0 and 1e-130."""
    return st.floats(-bound, bound, allow_nan=False).map(lambda x: x if abs(x) >= 1e-130 else 0.0)


events = st.fixed_dictionaries(
    {
        "event_id": st.uuids().map(str),
        "kid_id": texts,
        "elf_id": texts,
        "behaviour": st.sampled_from(["NAUGHTY", "NICE"]),
        "observed_at": st.integers(schemas._validate.MIN_OBSERVED_AT_MS, schemas._validate.MAX_OBSERVED_AT_MS),
        "note": st.none() | st.text(max_size=1024),
        "location": st.none()
        | st.fixed_dictionaries(
            {
                "lat": coordinates(90),
                "lon": coordinates(180),
            }
        ),
        "app_version": st.none() | st.text(max_size=64),
    }
)


@given(events)
def test_round_trip_returns_the_event(event: dict) -> None:
    assert decode_event(encode_event(event)) == event


@given(events)
def test_fast_writer_writes_the_bytes_fastavro_writes(event: dict) -> None:
    codec = BehaviourEventCodec()
    body = io.BytesIO()
    fastavro.schemaless_writer(body, codec.writer.parsed, schemas.validate_event(event))
    assert codec.encode(event)[schemas.HEADER_BYTES :] == body.getvalue()


def test_fast_writer_is_bound_to_the_newest_schema() -> None:
    # If this fails a new schema version was added: extend _fast_writer.py for it and move
    # FOR_FINGERPRINT, or the codec silently falls back to the slower fastavro writer.
    assert schemas.latest(schemas.BEHAVIOUR_EVENT).fingerprint == FOR_FINGERPRINT


def test_single_object_header_is_c301_then_little_endian_crc64_of_canonical_form() -> None:
    data = encode_event(make_event())
    writer = schemas.latest(schemas.BEHAVIOUR_EVENT)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == schemas.crc64_avro(writer.canonical_form.encode()).to_bytes(8, "little")
    # fastavro prints the same fingerprint as the hex of those little-endian bytes
    assert data[2:10].hex() == fastavro_fingerprint(writer.canonical_form, "CRC-64-AVRO")


def test_crc64_avro_known_value() -> None:
    # Avro's reference fingerprint of the schema "int"
    assert schemas.crc64_avro(b'"int"') == 0x7275D51A3F395C8F


def test_every_published_version_is_kept_and_distinct() -> None:
    versions = schemas.versions_of(schemas.BEHAVIOUR_EVENT)
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))
    assert len({v.fingerprint for v in versions}) == len(versions)


def test_v1_bytes_decode_after_v2_with_the_new_field_defaulted() -> None:
    v1 = schemas.versions_of(schemas.BEHAVIOUR_EVENT)[0]
    assert v1.version == 1
    old_app = BehaviourEventCodec(writer=v1)
    event = make_event(location={"lat": 66.5, "lon": 25.7}, note="shared cookies")
    data = old_app.encode_valid({k: v for k, v in schemas.validate_event(event).items() if k != "app_version"})
    assert data[2:10] == v1.fingerprint
    assert decode_event(data) == {**event, "app_version": None}


def test_v1_bytes_written_by_plain_fastavro_decode() -> None:
    """An old elf app that never saw this code: fastavro and the v1 file only."""
    v1_file = Path(schemas.__file__).parent / "avro" / "behaviour_event.v1.avsc"
    v1_schema = json.loads(v1_file.read_text())
    event = make_event()
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(v1_schema), event)
    fp = bytes.fromhex(fastavro_fingerprint(to_parsing_canonical_form(v1_schema), "CRC-64-AVRO"))
    assert decode_event(b"\xc3\x01" + fp + body.getvalue())["kid_id"] == event["kid_id"]


def test_datetimes_are_accepted_and_come_back_as_epoch_millis() -> None:
    when = datetime(2025, 12, 23, 18, 30, 0, 123000, tzinfo=UTC)
    decoded = decode_event(encode_event(make_event(observed_at=when)))
    assert decoded["observed_at"] == 1_766_514_600_123


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", NotSingleObjectError),
        (b"\xc3\x01\x00", NotSingleObjectError),
        (b'{"kid_id": "k-1"}', NotSingleObjectError),
        (b"\xc3\x01" + b"\xff" * 8 + b"\x02", UnknownSchemaError),
    ],
)
def test_garbage_is_refused_with_a_specific_error(data: bytes, error: type[DecodeError]) -> None:
    with pytest.raises(error):
        decode_event(data)


def test_truncated_body_is_a_corrupt_body() -> None:
    data = encode_event(make_event(note="x" * 50))
    for cut in (11, 20, len(data) - 1):
        with pytest.raises(CorruptBodyError):
            decode_event(data[:cut])


def test_trailing_bytes_are_a_corrupt_body() -> None:
    with pytest.raises(CorruptBodyError, match="trailing"):
        decode_event(encode_event(make_event()) + b"\x00")


def test_bad_enum_index_is_a_corrupt_body() -> None:
    data = bytearray(encode_event(make_event(event_id=str(uuid.UUID(int=0)), kid_id="k", elf_id="e")))
    # header(10) + event_id(1+36) + kid_id(1+1) + elf_id(1+1) -> behaviour index byte
    data[10 + 37 + 2 + 2] = 0x08  # index 4: no such symbol
    with pytest.raises(CorruptBodyError):
        decode_event(bytes(data))


def test_decode_errors_share_the_package_root() -> None:
    assert issubclass(DecodeError, SchemaError)
    assert issubclass(schemas.ValidationError, SchemaError)


anything = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=140) | st.binary(max_size=8)
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
odd_uuids = st.uuids().map(str).flatmap(lambda u: st.sampled_from([u.upper(), u + "\n", "\n" + u, u[:-1] + "\u0661"]))
near_valid_events = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.uuids().map(str) | odd_uuids | st.text(max_size=40) | anything,
        "kid_id": texts | st.just("") | st.text(min_size=129, max_size=130) | anything,
        "elf_id": texts | anything,
        "behaviour": st.sampled_from(["NAUGHTY", "NICE", "nice", ""]) | anything,
        "observed_at": st.integers(0, 2**64) | anything,
        "note": st.none() | st.text(max_size=1030) | surrogates | anything,
        "location": st.none()
        | st.dictionaries(
            st.sampled_from(["lat", "lon", "alt"]),
            st.floats() | st.integers() | st.sampled_from([1e-131, -1e-200, 5e-324, 1e-130, -0.0]) | anything,
            max_size=3,
        )
        | anything,
        "app_version": st.none() | st.text(max_size=70) | anything,
        "behavior": anything,
    },
)


@given(near_valid_events, st.none() | st.integers(schemas._validate.MIN_OBSERVED_AT_MS, 2**50))
def test_fast_path_accepts_exactly_what_the_validator_accepts(event: dict, now_ms: int | None) -> None:
    """BehaviourEventCodec.encode checks plain dicts in one pass; it must agree with validate_event."""
    codec = BehaviourEventCodec()
    try:
        expected = codec.encode_valid(schemas.validate_event(event, now_ms=now_ms))
    except schemas.ValidationError as refusal:
        with pytest.raises(schemas.ValidationError) as caught:
            codec.encode(event, now_ms=now_ms)
        assert str(caught.value) == str(refusal)
    else:
        assert codec.encode(event, now_ms=now_ms) == expected
