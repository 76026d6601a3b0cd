"""A hand-written Avro binary writer for the newest behaviour event schema.

fastavro's ``schemaless_writer`` costs about 10 us per event here, most of it generic dispatch;
this writer knows the field order and costs a fraction of that. It is used only for the schema
whose fingerprint it was written for (:data:`FOR_FINGERPRINT`); any other writer schema falls
back to fastavro. A property test checks that both give the same bytes.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from ._validate import (
    APP_VERSION_MAX_CHARS,
    FIELDS,
    ID_MAX_CHARS,
    MAX_OBSERVED_AT_MS,
    MIN_NONZERO_NUMBER,
    MIN_OBSERVED_AT_MS,
    NOTE_MAX_CHARS,
)

#: behaviour_event v2; ``tests/schemas`` fails if the v2 file changes under this writer.
FOR_FINGERPRINT = bytes.fromhex("71485aebeb66c3fe")

_NULL = b"\x00"
_PRESENT = b"\x02"
_BEHAVIOUR_INDEX = {"NAUGHTY": b"\x00", "NICE": b"\x02"}
_pack_location = struct.Struct("<dd").pack
_SMALL = [bytes((n << 1,)) for n in range(64)]
_UUID_LENGTH = _SMALL[36]
#: lower case only: validate_event lowers the rest, and the bytes must not depend on the path taken
_is_uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch
_known_fields = FIELDS.issuperset


def _long(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _string(value: str) -> bytes:
    data = value.encode("utf-8")
    size = len(data)
    return (_SMALL[size] if size < 64 else _long(size)) + data


def write_behaviour_event(event: dict[str, Any]) -> bytes:
    """Avro body of a validated event (see ``validate_event``), without the header."""
    note = event["note"]
    location = event["location"]
    app_version = event["app_version"]
    return b"".join(
        (
            _string(event["event_id"]),
            _string(event["kid_id"]),
            _string(event["elf_id"]),
            _BEHAVIOUR_INDEX[event["behaviour"]],
            _long(event["observed_at"]),
            _NULL if note is None else _PRESENT + _string(note),
            _NULL if location is None else _PRESENT + _pack_location(location["lat"], location["lon"]),
            _NULL if app_version is None else _PRESENT + _string(app_version),
        )
    )


def _bounded_string(value: Any, max_chars: int) -> bytes | None:
    if type(value) is not str or not 0 < len(value) <= max_chars:
        return None
    try:
        return _string(value)
    except UnicodeEncodeError:  # a lone surrogate: validate_event names it
        return None


def _optional_string(value: Any, max_chars: int) -> bytes | None:
    if value is None:
        return _NULL
    encoded = _bounded_string(value, max_chars)
    return None if encoded is None else _PRESENT + encoded


def _dynamodb_float(value: float) -> bool:
    """In range for DynamoDB's number type: zero or at least 1e-130 in magnitude (never above 180 here)."""
    return not value or not -MIN_NONZERO_NUMBER < value < MIN_NONZERO_NUMBER


def try_write_plain_event(event: Any, max_observed_at_ms: int = MAX_OBSERVED_AT_MS) -> bytes | None:
    """Check and write, in one pass, the common case: a plain dict of plain values, all valid.

    Returns the Avro body, or None for anything else (invalid, a datetime, a Mapping that is not a
    dict, an empty note...): the caller then takes the full path, ``validate_event`` and its exact
    messages. It accepts nothing ``validate_event`` refuses; a property test holds both to that.
    ``max_observed_at_ms`` is the latest ``observed_at`` accepted (the clock skew bound).
    """
    if type(event) is not dict or not _known_fields(event):
        return None
    get = event.get
    event_id = get("event_id")
    observed_at = get("observed_at")
    name = get("behaviour")
    behaviour = _BEHAVIOUR_INDEX.get(name) if type(name) is str else None
    if (
        type(event_id) is not str
        or not _is_uuid(event_id)
        or behaviour is None
        or type(observed_at) is not int
        or not MIN_OBSERVED_AT_MS <= observed_at <= max_observed_at_ms
        or observed_at > MAX_OBSERVED_AT_MS
    ):
        return None
    kid_id = _bounded_string(get("kid_id"), ID_MAX_CHARS)
    elf_id = _bounded_string(get("elf_id"), ID_MAX_CHARS)
    note = _optional_string(get("note"), NOTE_MAX_CHARS)
    app_version = _optional_string(get("app_version"), APP_VERSION_MAX_CHARS)
    if kid_id is None or elf_id is None or note is None or app_version is None:
        return None
    location = get("location")
    if location is None:
        where = _NULL
    elif type(location) is dict and len(location) == 2:
        lat: Any = location.get("lat")
        lon: Any = location.get("lon")
        if type(lat) not in (float, int) or type(lon) not in (float, int):
            return None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # NaN fails too
            return None
        if not (_dynamodb_float(lat) and _dynamodb_float(lon)):
            return None
        where = _PRESENT + _pack_location(lat, lon)
    else:
        return None
    return b"".join(
        (
            _UUID_LENGTH,
            event_id.encode("ascii"),
            kid_id,
            elf_id,
            behaviour,
            _long(observed_at),
            note,
            where,
            app_version,
        )
    )
