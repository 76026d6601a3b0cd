"""Checks a behaviour event against the current schema and its constraints.

The Avro schema says which types are allowed; the constraints here are the ones Avro cannot
express (lengths, ranges, UUID text) and the ones the stores downstream impose: every event this
accepts fits DynamoDB's number type and key and item sizes and is valid UTF-8, so the worker never
meets a value its sinks refuse (see :mod:`foundation.limits`). Every refusal names the field, so an
elf app can show the elf what to fix; no input makes this raise anything but ValidationError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from foundation.limits import (
    DYNAMODB_NUMBER_MAX_DIGITS,
    DYNAMODB_NUMBER_MAX_MAGNITUDE,
    DYNAMODB_NUMBER_MIN_MAGNITUDE,
)

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
#: UUID text in either case; ``fullmatch`` (``$`` would let a trailing newline through).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: The smallest non-zero magnitude DynamoDB stores, as a float (every double above it has <= 17 digits).
MIN_NONZERO_NUMBER = float(DYNAMODB_NUMBER_MIN_MAGNITUDE)
FIELDS = frozenset(("event_id", "kid_id", "elf_id", "behaviour", "observed_at", "note", "location", "app_version"))
_LOCATION_FIELDS = frozenset(("lat", "lon"))
_REQUIRED = ("event_id", "kid_id", "elf_id", "behaviour", "observed_at")


def to_epoch_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch of a timezone-aware datetime (exact, no float)."""
    return (value - _EPOCH) // _ONE_MS


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages; never raises (a huge int, a
    self-referencing or deeply nested container, a broken ``__repr__``)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a message must not fail because of the value it describes
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dynamodb_number_problem(value: int | float) -> str | None:
    """Why DynamoDB's number type cannot hold ``value`` (as the sink writes it), or None if it can.

    DynamoDB stores 38 significant digits, magnitudes 1E-130 .. 9.99...E+125, and zero; a float
    is sent as its shortest ``repr`` (at most 17 digits), an int as all its digits.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return "is not a finite number"
        if value == 0:
            return None
        number = Decimal(repr(value))
    else:
        if value == 0:
            return None
        if abs(value) >= 10**126:  # before Decimal: a 10**100000 must stay cheap
            return f"exceeds {DYNAMODB_NUMBER_MAX_MAGNITUDE} in magnitude, the largest number DynamoDB stores"
        number = Decimal(value)
    magnitude = number.copy_abs()  # exact: abs() would round to the context's 28 digits
    if magnitude > DYNAMODB_NUMBER_MAX_MAGNITUDE:
        return f"exceeds {DYNAMODB_NUMBER_MAX_MAGNITUDE} in magnitude, the largest number DynamoDB stores"
    if magnitude < DYNAMODB_NUMBER_MIN_MAGNITUDE:
        return f"is closer to zero than {DYNAMODB_NUMBER_MIN_MAGNITUDE}, the smallest magnitude DynamoDB stores"
    digits = number.as_tuple().digits
    significant = len(bytes(digits).rstrip(b"\x00"))  # trailing zeros are exponent, not precision
    if significant > DYNAMODB_NUMBER_MAX_DIGITS:
        return f"has {significant} significant digits, DynamoDB stores at most {DYNAMODB_NUMBER_MAX_DIGITS}"
    return None


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
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                field, f"is not valid Unicode text: a lone surrogate {value[exc.start]!r} at index {exc.start}"
            ) from None
    return str(value)  # a str subclass becomes a plain str


def _observed_at(value: Any, not_after_ms: int | None) -> int:
    if value is None:
        raise ValidationError("observed_at", "required field is missing")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                "observed_at", "naive datetime; give a timezone-aware one, e.g. datetime.now(timezone.utc)"
            )
        millis = to_epoch_ms(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        millis = int(value)
    else:
        raise ValidationError(
            "observed_at", f"must be a datetime or epoch milliseconds (int), got {type(value).__name__}"
        )
    if not MIN_OBSERVED_AT_MS <= millis <= MAX_OBSERVED_AT_MS:
        raise ValidationError(
            "observed_at", f"{show(millis)} ms is outside 2000-01-01..9999-12-31 (seconds instead of milliseconds?)"
        )
    if not_after_ms is not None and millis > not_after_ms:
        raise ValidationError(
            "observed_at",
            f"{millis} ms is {millis - not_after_ms} ms past the allowed clock skew (at most {not_after_ms});"
            " is the reporting clock set right?",
        )
    return millis


def _coordinate(location: Mapping[str, Any], name: str, bound: float) -> float:
    field = f"location.{name}"
    value = location.get(name)
    if value is None:
        raise ValidationError(field, "required field is missing")
    if type(value) is not float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValidationError(field, f"must be a number, got {type(value).__name__}")
    if not -bound <= value <= bound:  # exact for ints of any size; NaN fails too
        raise ValidationError(field, f"{show(value)} is outside -{bound:g}..{bound:g}")
    number = float(value)
    # within +-180 a double has at most 17 digits: only a magnitude under 1e-130 breaks DynamoDB's number
    if number and -MIN_NONZERO_NUMBER < number < MIN_NONZERO_NUMBER:
        raise ValidationError(field, f"{number!r} {dynamodb_number_problem(number)}")
    return number


def _location(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if type(value) is not dict and not isinstance(value, Mapping):  # dict first: ABC checks are slow
        raise ValidationError("location", f"must be a mapping with lat and lon, got {type(value).__name__}")
    if not _LOCATION_FIELDS.issuperset(value):
        unknown = sorted(_key(k) for k in value if k not in _LOCATION_FIELDS)
        raise ValidationError(f"location.{unknown[0]}", "unknown field")
    return {"lat": _coordinate(value, "lat", 90.0), "lon": _coordinate(value, "lon", 180.0)}


def _key(key: Any) -> str:
    """An unknown key as a field name: itself if it reads like one, else its (cut) repr."""
    return key if type(key) is str and key.isidentifier() and len(key) <= 64 else show(key)


def validate_event(
    event: Any, *, now_ms: int | None = None, max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
) -> dict[str, Any]:
    """Return the event normalised for encoding (``observed_at`` in epoch ms, ``event_id`` in
    lower case), or raise :class:`ValidationError` naming the first offending field.

    With ``now_ms`` (the clock the event is judged by: the reporter's at ``put()``, the stream's
    arrival time in the worker), an ``observed_at`` more than ``max_future_skew_ms`` past it is
    refused too; without it only the schema's range applies.
    """
    return validate_not_after(event, None if now_ms is None else now_ms + max_future_skew_ms)


def validate_not_after(event: Any, latest_ms: int | None) -> dict[str, Any]:
    """:func:`validate_event` with the latest allowed ``observed_at`` given directly (None: none)."""
    if type(event) is not dict and not isinstance(event, Mapping):
        raise ValidationError("event", f"must be a mapping, got {type(event).__name__}")
    if not FIELDS.issuperset(event):
        unknown = sorted(_key(k) for k in event if k not in FIELDS)
        raise ValidationError(unknown[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    for field in _REQUIRED:
        if event.get(field) is None:
            raise ValidationError(field, "required field is missing")
    event_id = event["event_id"]
    if not isinstance(event_id, str) or not _UUID.fullmatch(event_id):
        raise ValidationError("event_id", f"must be UUID text like 6f1c...-..., got {show(event_id)}")
    behaviour = event["behaviour"]
    if not isinstance(behaviour, str) or behaviour not in BEHAVIOURS:
        raise ValidationError("behaviour", f"must be one of {', '.join(BEHAVIOURS)}, got {show(behaviour)}")
    return {
        "event_id": event_id.lower(),  # one spelling per event: dedupe and reconcile compare text
        "kid_id": _text(event, "kid_id", ID_MAX_CHARS, optional=False),
        "elf_id": _text(event, "elf_id", ID_MAX_CHARS, optional=False),
        "behaviour": str(behaviour),
        "observed_at": _observed_at(event["observed_at"], latest_ms),
        "note": _text(event, "note", NOTE_MAX_CHARS, optional=True),
        "location": _location(event.get("location")),
        "app_version": _text(event, "app_version", APP_VERSION_MAX_CHARS, optional=True),
    }
