"""Invalid events are refused with a message that names the field."""

from __future__ import annotations

from datetime import datetime

import pytest

import schemas
from schemas import ValidationError, decode_event, encode_event
from tests.factories import make_event


def _without(field: str) -> dict:
    event = make_event()
    del event[field]
    return event


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        (_without("kid_id"), "kid_id", "required field is missing"),
        (_without("elf_id"), "elf_id", "required field is missing"),
        (make_event(kid_id=""), "kid_id", "must not be empty"),
        (make_event(kid_id="k" * 129), "kid_id", "at most 128"),
        (make_event(kid_id=42), "kid_id", "must be a string"),
        (make_event(behaviour="nice-ish"), "behaviour", "one of NAUGHTY, NICE"),
        (make_event(location={"lat": 91, "lon": 0}), "location.lat", "outside -90..90"),
        (make_event(location={"lat": 0, "lon": -180.5}), "location.lon", "outside -180..180"),
        (make_event(location={"lat": float("nan"), "lon": 0}), "location.lat", "outside"),
        (make_event(location={"lat": 1}), "location.lon", "required field is missing"),
        (make_event(location={"lat": 1, "lon": 2, "alt": 3}), "location.alt", "unknown field"),
        (make_event(note="n" * 2000), "note", "2000 characters long, at most 1024"),
        (make_event(note="n" * (1024 * 1024)), "note", "at most 1024"),
        (make_event(kid_id="k" * (1024 * 1024)), "kid_id", "at most 128"),
        (make_event(event_id="not-a-uuid"), "event_id", "UUID"),
        (make_event(observed_at=1_766_448_000), "observed_at", "seconds instead of milliseconds"),
        (make_event(observed_at=datetime(2025, 12, 23)), "observed_at", "naive datetime"),
        (make_event(observed_at="yesterday"), "observed_at", "datetime or epoch milliseconds"),
        (make_event(observed_at=True), "observed_at", "datetime or epoch milliseconds"),
        (make_event(behavior="NICE"), "behavior", "unknown field"),
        (make_event(app_version="v" * 65), "app_version", "at most 64"),
    ],
)
def test_invalid_event_is_refused_naming_the_field(event: dict, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        encode_event(event)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert words in str(caught.value)


def test_a_non_mapping_is_refused() -> None:
    with pytest.raises(ValidationError, match="^event: must be a mapping"):
        encode_event(["kid_id", "k-1"])


def test_optional_fields_may_be_absent() -> None:
    event = make_event()
    del event["note"], event["location"]
    assert encode_event(event)


# --- issue 12 class 5: no input gets past validation to fail later, and none raises anything else
UUID = "6f1c2b9e-2a41-4d8e-9c1a-0d2f3e4a5b6c"


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        (make_event(event_id=UUID + "\n"), "event_id", "UUID"),  # `$` would match before the newline
        (make_event(event_id="\n" + UUID), "event_id", "UUID"),
        (make_event(event_id=10**5000), "event_id", "got <int>"),  # too long to repr: the message still works
        (make_event(kid_id="kid-\ud800"), "kid_id", "lone surrogate '\\ud800' at index 4"),
        (make_event(elf_id="\udfff"), "elf_id", "lone surrogate"),
        (make_event(note="bad \udc80 note"), "note", "lone surrogate"),
        (make_event(app_version="1.\ud83d"), "app_version", "lone surrogate"),
        (make_event(behaviour=["NICE"]), "behaviour", "one of NAUGHTY, NICE"),  # unhashable
        (make_event(behaviour={"NICE": 1}), "behaviour", "one of NAUGHTY, NICE"),
        (make_event(observed_at=10**5000), "observed_at", "outside 2000-01-01..9999-12-31"),
        (make_event(location={"lat": 10**400, "lon": 0}), "location.lat", "outside -90..90"),  # float() overflows
        (make_event(location={"lat": 0, "lon": -(10**400)}), "location.lon", "outside -180..180"),
        (make_event(location={"lat": float("inf"), "lon": 0}), "location.lat", "outside"),
        (make_event(location={"lat": 0, "lon": float("-inf")}), "location.lon", "outside"),
        (make_event(location={"lat": 0, "lon": float("nan")}), "location.lon", "outside"),
        ({**make_event(), 10**5000: 1}, "<int>", "unknown field"),
    ],
)
def test_hostile_values_are_refused_naming_the_field(event: dict, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        encode_event(event)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_deeply_nested_values_are_refused_not_a_recursion_error() -> None:
    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    for field in ("behaviour", "event_id", "kid_id", "observed_at"):
        with pytest.raises(ValidationError) as caught:
            encode_event(make_event(**{field: nested}))
        assert caught.value.field == field


def test_event_ids_are_lower_cased_so_dedupe_sees_one_spelling() -> None:
    event = make_event(event_id=UUID.upper())
    assert schemas.validate_event(event)["event_id"] == UUID
    assert decode_event(encode_event(event))["event_id"] == UUID
    assert encode_event(event) == encode_event({**event, "event_id": UUID})


# --- issue 12 class 1: validation agrees with what DynamoDB stores (foundation.limits)
@pytest.mark.parametrize(
    ("value", "words"),
    [
        (1e-131, "closer to zero than 1E-130"),
        (-1e-131, "closer to zero than 1E-130"),
        (5e-324, "closer to zero than 1E-130"),  # the smallest subnormal double
        (-2.2250738585072014e-308, "closer to zero than 1E-130"),
    ],
)
def test_coordinates_dynamodb_cannot_store_are_refused(value: float, words: str) -> None:
    for name in ("lat", "lon"):
        location = {"lat": 1.0, "lon": 1.0, name: value}
        with pytest.raises(ValidationError) as caught:
            encode_event(make_event(location=location))
        assert caught.value.field == f"location.{name}"
        assert words in str(caught.value)


@pytest.mark.parametrize("value", [1e-130, -1e-130, 0.0, -0.0, 0, 90, -90.0, 1.2345678901234567, 89.99999999999999])
def test_coordinates_at_the_dynamodb_limits_are_accepted(value: float) -> None:
    event = make_event(location={"lat": value, "lon": value})
    assert decode_event(encode_event(event))["location"] == {"lat": float(value), "lon": float(value)}


@pytest.mark.parametrize(
    ("value", "fits"),
    [
        (0, True),
        (10**125 * 9, True),
        (int("9" * 38) * 10**88, True),  # 9.99..9E+125 with 38 nines: the largest
        (10**126, False),
        (-(10**126), False),
        (int("1" * 38), True),
        (int("1" * 39), False),  # 39 significant digits
        (-int("1" * 39), False),
        (10**100, True),  # one digit, however many zeros
        (1e-130, True),
        (1e-131, False),
        (-1e-131, False),
        (1.7976931348623157e308, False),
        (float("inf"), False),
        (float("nan"), False),
        (5e-324, False),
    ],
)
def test_dynamodb_number_problem_follows_the_documented_number_type(value: float, fits: bool) -> None:
    assert (schemas.dynamodb_number_problem(value) is None) is fits


def test_observed_at_range_fits_dynamodb_numbers() -> None:
    from schemas._validate import MAX_OBSERVED_AT_MS, MIN_OBSERVED_AT_MS

    assert schemas.dynamodb_number_problem(MIN_OBSERVED_AT_MS) is None
    assert schemas.dynamodb_number_problem(MAX_OBSERVED_AT_MS) is None


# --- issue 12 class 2: the clock skew bound, shared by put() and the worker
NOW = 1_766_448_000_000


def test_validate_event_bounds_observed_at_only_when_given_a_clock() -> None:
    far = make_event(observed_at=253_402_300_799_999)  # 9999-12-31
    assert schemas.validate_event(far)["observed_at"] == 253_402_300_799_999  # unchanged without now_ms
    with pytest.raises(ValidationError) as caught:
        schemas.validate_event(far, now_ms=NOW)
    assert caught.value.field == "observed_at" and "clock skew" in str(caught.value)


def test_the_skew_bound_is_inclusive_and_configurable() -> None:
    skew = schemas.DEFAULT_MAX_FUTURE_SKEW_MS
    assert skew == 5 * 60 * 1000
    assert schemas.validate_event(make_event(observed_at=NOW + skew), now_ms=NOW)
    with pytest.raises(ValidationError, match="^observed_at: "):
        schemas.validate_event(make_event(observed_at=NOW + skew + 1), now_ms=NOW)
    assert schemas.validate_event(make_event(observed_at=NOW + 10_000), now_ms=NOW, max_future_skew_ms=10_000)
    with pytest.raises(ValidationError, match="^observed_at: "):
        schemas.validate_event(make_event(observed_at=NOW + 10_001), now_ms=NOW, max_future_skew_ms=10_000)
    codec = schemas.BehaviourEventCodec()  # its one-pass path applies the same bound
    with pytest.raises(ValidationError, match="^observed_at: "):
        codec.encode(make_event(observed_at=NOW + skew + 1), now_ms=NOW)
    assert codec.encode(make_event(observed_at=NOW + skew + 1), now_ms=NOW + 1)
