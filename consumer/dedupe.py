"""Collapsing events per kid and turning the winner into a DynamoDB item: pure, no AWS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .records import DecodedEvent

#: Write only when the item is absent or holds an older (observed_at, event_id).
CONDITION = (
    "attribute_not_exists(kid_id) OR observed_at < :observed_at "
    "OR (observed_at = :observed_at AND event_id < :event_id)"
)


def latest_per_kid(events: Iterable[DecodedEvent]) -> list[DecodedEvent]:
    """The latest event per kid by (observed_at, event_id); exact duplicates collapse too."""
    latest: dict[str, DecodedEvent] = {}
    for decoded in events:
        current = latest.get(decoded.kid_id)
        if current is None or decoded.order_key > current.order_key:
            latest[decoded.kid_id] = decoded
    return list(latest.values())


def _number(value: float | int) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def to_item(decoded: DecodedEvent, written_at_ms: int) -> dict[str, Any]:
    """The kid's item in DynamoDB's attribute-value form (the shared item format)."""
    event = decoded.event
    record = decoded.record
    item: dict[str, Any] = {
        "kid_id": {"S": event["kid_id"]},
        "behaviour": {"S": event["behaviour"]},
        "elf_id": {"S": event["elf_id"]},
        "event_id": {"S": event["event_id"]},
        "observed_at": _number(int(event["observed_at"])),
        "shard_id": {"S": record.shard_id},
        "sequence_number": {"S": record.sequence_number},
        "subsequence_number": _number(record.subsequence_number),
        "written_at": _number(written_at_ms),
    }
    if event.get("note") is not None:
        item["note"] = {"S": event["note"]}
    location = event.get("location")
    if location is not None:
        item["location"] = {"M": {"lat": _number(float(location["lat"])), "lon": _number(float(location["lon"]))}}
    if event.get("app_version") is not None:
        item["app_version"] = {"S": event["app_version"]}
    return item


def condition_values(decoded: DecodedEvent) -> dict[str, Any]:
    """Expression attribute values for :data:`CONDITION`."""
    observed_at, event_id = decoded.order_key
    return {":observed_at": _number(observed_at), ":event_id": {"S": event_id}}
