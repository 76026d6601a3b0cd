"""Checks a behaviour event against the current schema and its constraints.

The Avro schema says which types are allowed; the constraints here are the ones Avro cannot
express (lengths, ranges, UUID text). Every refusal names the field, so an elf app can show the
elf what to fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ._errors import ValidationError

BEHAVIOURS = ("NAUGHTY", "NICE")
ID_MAX_CHARS = 128
NOTE_MAX_CHARS = 1024
APP_VERSION_MAX_CHARS = 64
#: 2000-01-01T00:00:00Z: no elf reported anything earlier; smaller numbers are seconds or bugs.
MIN_OBSERVED_AT_MS = 946_684_800_000
#: 9999-12-31T23:59:59.999Z, the largest time Python's datetime can show.
MAX_OBSERVED_AT_MS = 253_402_300_799_999

#: How far past the reporter's (or the stream's arrival) clock an ``observed_at`` may lie: a phone
#: clock a few minutes fast is normal, a report from next week is a bug or an attack (it would pin
#: the kid's item: last writer wins by ``observed_at``).
DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FIELDS = frozenset(("event_id", "kid_id", "elf_id", "behaviour", "observed_at", "note", "location", "app_version"))
_LOCATION_FIELDS = frozenset(("lat", "lon"))
_REQUIRED = ("event_id", "kid_id", "elf_id", "behaviour", "observed_at")


def to_epoch_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch of a timezone-aware datetime (exact, no float)."""
    return (value - _EPOCH) // _ONE_MS


def _text(event: Mapping[str, Any], field: str, max_chars: int, *, optional: bool) -> str | None:
    value = event.get(field)
    if value is None:
        if optional:
            return None
        raise ValidationError(field, "required field is missing")
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    if not optional and not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > max_chars:
        raise ValidationError(field, f"is {len(value)} characters long, at most {max_chars} allowed")
    return value


def _observed_at(value: Any) -> int:
    if value is None:
        raise ValidationError("observed_at", "required field is missing")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                "observed_at", "naive datetime; give a timezone-aware one, e.g. datetime.now(timezone.utc)"
            )
        millis = to_epoch_ms(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        millis = value
    else:
        raise ValidationError(
            "observed_at", f"must be a datetime or epoch milliseconds (int), got {type(value).__name__}"
        )
    if not MIN_OBSERVED_AT_MS <= millis <= MAX_OBSERVED_AT_MS:
        raise ValidationError(
            "observed_at", f"{millis} ms is outside 2000-01-01..9999-12-31 (seconds instead of milliseconds?)"
        )
    return millis


def _coordinate(location: Mapping[str, Any], name: str, bound: float) -> float:
    field = f"location.{name}"
    value = location.get(name)
    if value is None:
        raise ValidationError(field, "required field is missing")
    if type(value) is not float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValidationError(field, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise ValidationError(field, f"{value} is outside -{bound:g}..{bound:g}")
    return number


def _location(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if type(value) is not dict and not isinstance(value, Mapping):  # dict first: ABC checks are slow
        raise ValidationError("location", f"must be a mapping with lat and lon, got {type(value).__name__}")
    if not _LOCATION_FIELDS.issuperset(value):
        unknown = sorted(str(k) for k in value if k not in _LOCATION_FIELDS)
        raise ValidationError(f"location.{unknown[0]}", "unknown field")
    return {"lat": _coordinate(value, "lat", 90.0), "lon": _coordinate(value, "lon", 180.0)}


def validate_event(event: Any) -> dict[str, Any]:
    """Return the event normalised for encoding (``observed_at`` in epoch ms), or raise.

    Raises :class:`ValidationError` naming the first offending field.
    """
    if type(event) is not dict and not isinstance(event, Mapping):
        raise ValidationError("event", f"must be a mapping, got {type(event).__name__}")
    if not FIELDS.issuperset(event):
        unknown = sorted(str(k) for k in event if k not in FIELDS)
        raise ValidationError(unknown[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    for field in _REQUIRED:
        if event.get(field) is None:
            raise ValidationError(field, "required field is missing")
    event_id = event["event_id"]
    if not isinstance(event_id, str) or not _UUID.match(event_id):
        raise ValidationError("event_id", f"must be UUID text like 6f1c...-..., got {event_id!r:.60}")
    behaviour = event["behaviour"]
    if behaviour not in BEHAVIOURS:
        raise ValidationError("behaviour", f"must be one of {', '.join(BEHAVIOURS)}, got {behaviour!r:.60}")
    return {
        "event_id": event_id,
        "kid_id": _text(event, "kid_id", ID_MAX_CHARS, optional=False),
        "elf_id": _text(event, "elf_id", ID_MAX_CHARS, optional=False),
        "behaviour": behaviour,
        "observed_at": _observed_at(event["observed_at"]),
        "note": _text(event, "note", NOTE_MAX_CHARS, optional=True),
        "location": _location(event.get("location")),
        "app_version": _text(event, "app_version", APP_VERSION_MAX_CHARS, optional=True),
    }
