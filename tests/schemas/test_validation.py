"""Invalid events are refused with a message that names the field."""

from __future__ import annotations

from datetime import datetime

import pytest

from schemas import ValidationError, encode_event
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
