"""Avro single-object encoding of behaviour events.

Wire format (Avro specification, "Single-object encoding"): ``C3 01``, the 8-byte little-endian
CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then the Avro binary body.
Decoding finds the writer schema by its fingerprint among every published version and resolves
it to the current reader schema, so events from old elf apps read like new ones.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from ._errors import CorruptBodyError, NotSingleObjectError, UnknownSchemaError, ValidationError
from ._fast_writer import FOR_FINGERPRINT, try_write_plain_event, write_behaviour_event
from ._registry import BEHAVIOUR_EVENT, SchemaVersion, by_fingerprint, latest
from ._validate import DEFAULT_MAX_FUTURE_SKEW_MS, MAX_OBSERVED_AT_MS, to_epoch_ms, validate_not_after

MAGIC = b"\xc3\x01"
HEADER_BYTES = len(MAGIC) + 8
#: Far above what the field limits allow (about 1.5 KiB); a guard, not a tuning knob.
MAX_EVENT_BYTES = 16 * 1024


class BehaviourEventCodec:
    """Encodes with the newest ``behaviour_event`` schema; decodes every published version."""

    def __init__(self, writer: SchemaVersion | None = None) -> None:
        self.writer = writer or latest(BEHAVIOUR_EVENT)
        self.reader = latest(BEHAVIOUR_EVENT)
        self._header = MAGIC + self.writer.fingerprint
        self._writers = by_fingerprint()
        self._fast = self.writer.fingerprint == FOR_FINGERPRINT

    def encode(
        self, event: Any, *, now_ms: int | None = None, max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
    ) -> bytes:
        """Validate ``event`` and return its single-object encoding; raise ValidationError.

        ``now_ms`` and ``max_future_skew_ms`` bound ``observed_at`` as in :func:`validate_event`.
        """
        return self.encode_not_after(event, None if now_ms is None else now_ms + max_future_skew_ms)

    def encode_not_after(self, event: Any, max_observed_at_ms: int | None) -> bytes:
        """:meth:`encode` with the bound on ``observed_at`` given directly (None: the schema's
        range only); the producer's hot path."""
        if self._fast:
            latest = MAX_OBSERVED_AT_MS if max_observed_at_ms is None else max_observed_at_ms
            body = try_write_plain_event(event, latest)
            if body is not None:
                return self._header + body
        return self.encode_valid(validate_not_after(event, max_observed_at_ms))

    def encode_valid(self, event: dict[str, Any]) -> bytes:
        """Encode an event that :func:`validate_event` already returned."""
        if self._fast:
            data = self._header + write_behaviour_event(event)
        else:
            buffer = BytesIO()
            buffer.write(self._header)
            schemaless_writer(buffer, self.writer.parsed, event)
            data = buffer.getvalue()
        if len(data) > MAX_EVENT_BYTES:
            raise ValidationError("event", f"encoded size {len(data)} bytes exceeds {MAX_EVENT_BYTES}")
        return data

    def decode(self, data: bytes) -> dict[str, Any]:
        """Return the event as the current schema sees it, ``observed_at`` in epoch ms.

        Raises a :class:`DecodeError` subclass for anything that is not a whole event.
        """
        writer = self.writer_of(data)
        buffer = BytesIO(data)
        buffer.seek(HEADER_BYTES)
        try:
            event = schemaless_reader(buffer, writer.parsed, self.reader.parsed)
        except (EOFError, ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError, OverflowError) as exc:
            raise CorruptBodyError(f"undecodable {writer.name} v{writer.version} body: {exc!r}") from exc
        if buffer.tell() != len(data):
            raise CorruptBodyError(f"{len(data) - buffer.tell()} trailing bytes after the Avro body")
        if not isinstance(event, dict):
            raise CorruptBodyError("body did not decode to a record")
        observed = event.get("observed_at")
        if isinstance(observed, datetime):
            event["observed_at"] = to_epoch_ms(observed)
        return event

    def writer_of(self, data: bytes) -> SchemaVersion:
        """The published schema that wrote ``data``, from its single-object header."""
        if len(data) < HEADER_BYTES or data[:2] != MAGIC:
            raise NotSingleObjectError(
                f"not Avro single-object encoding: {len(data)} bytes starting {bytes(data[:4]).hex() or 'empty'}"
            )
        fingerprint = bytes(data[2:HEADER_BYTES])
        try:
            return self._writers[fingerprint]
        except KeyError:
            raise UnknownSchemaError(fingerprint) from None


_DEFAULT: BehaviourEventCodec | None = None


def default_codec() -> BehaviourEventCodec:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = BehaviourEventCodec()
    return _DEFAULT


def encode_event(event: Any) -> bytes:
    """Validate and encode one event with the newest schema."""
    return default_codec().encode(event)


def decode_event(data: bytes) -> dict[str, Any]:
    """Decode one single-object-encoded event written with any published schema."""
    return default_codec().decode(data)
