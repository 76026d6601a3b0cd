"""PartiQL statements for the kid table: pure, no AWS.

An item is written by one of two statements, each carrying the last-writer-wins condition:

- ``INSERT`` for a kid with no item yet; DynamoDB refuses it with ``DuplicateItem`` when the
  item exists (then the UPDATE is sent);
- ``UPDATE ... WHERE kid_id = ? AND (observed_at < ? OR (observed_at = ? AND event_id < ?))`` for
  an existing item; it answers ``ConditionalCheckFailed`` both when the stored event is newer
  and when there is no item (``ReturnValuesOnConditionCheckFailure=ALL_OLD`` tells them apart:
  the old item comes back only in the first case).

The UPDATE sets every attribute of the item and removes the optional ones the event lacks, so
the item ends up exactly as a ``PutItem`` of :func:`consumer.dedupe.to_item` would leave it.
Statement texts depend only on the table and on which optional attributes are present, so
they are built once per shape (PartiQL parameters carry every value).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..records import DecodedEvent

#: Attributes every item has, in statement order (the key first).
KEY = "kid_id"
REQUIRED = (
    "behaviour",
    "elf_id",
    "event_id",
    "observed_at",
    "shard_id",
    "sequence_number",
    "subsequence_number",
    "written_at",
)
#: Attributes an event may lack; an UPDATE removes them from the item when it does.
OPTIONAL = ("note", "location", "app_version")
#: The UPDATE's last-writer-wins condition on top of the key (same rule as dedupe.CONDITION).
NEWER_CONDITION = '("observed_at" < ? OR ("observed_at" = ? AND "event_id" < ?))'


def _quoted(name: str) -> str:
    return f'"{name}"'


@lru_cache(maxsize=64)
def insert_text(table: str, present: tuple[str, ...]) -> str:
    """``INSERT INTO "table" VALUE {...}`` for an item with the required and ``present`` optional
    attributes; parameters in the order of :func:`insert_parameters`."""
    names = (KEY, *REQUIRED, *present)
    fields = ", ".join(f"'{name}': ?" for name in names)
    return f"INSERT INTO {_quoted(table)} VALUE {{{fields}}}"


@lru_cache(maxsize=64)
def update_text(table: str, present: tuple[str, ...]) -> str:
    """``UPDATE "table" SET ... REMOVE ... WHERE kid_id = ? AND <newer>``; parameters in the order
    of :func:`update_parameters`."""
    sets = " ".join(f"SET {_quoted(name)} = ?" for name in (*REQUIRED, *present))
    absent = [name for name in OPTIONAL if name not in present]
    removes = "".join(f" REMOVE {_quoted(name)}" for name in absent)
    return f"UPDATE {_quoted(table)} {sets}{removes} WHERE {_quoted(KEY)} = ? AND {NEWER_CONDITION}"


def _number(value: float | int) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _values(decoded: DecodedEvent, written_at_ms: int) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """The optional attributes present, and the values of KEY, REQUIRED and those, in that order:
    the attributes of :func:`consumer.dedupe.to_item`, built straight into parameter order (the
    hot path: no intermediate item)."""
    event = decoded.event
    record = decoded.record
    values: list[dict[str, Any]] = [
        {"S": event["kid_id"]},
        {"S": event["behaviour"]},
        {"S": event["elf_id"]},
        {"S": event["event_id"]},
        {"N": str(int(event["observed_at"]))},
        {"S": record.shard_id},
        {"S": record.sequence_number},
        {"N": str(record.subsequence_number)},
        {"N": str(written_at_ms)},
    ]
    present: tuple[str, ...] = ()
    note, location, app_version = event.get("note"), event.get("location"), event.get("app_version")
    if note is not None:
        present += ("note",)
        values.append({"S": note})
    if location is not None:
        present += ("location",)
        values.append({"M": {"lat": _number(float(location["lat"])), "lon": _number(float(location["lon"]))}})
    if app_version is not None:
        present += ("app_version",)
        values.append({"S": app_version})
    return present, values


def insert_statement(table: str, decoded: DecodedEvent, written_at_ms: int) -> dict[str, Any]:
    """A ``BatchStatementRequest`` that creates the kid's item (refused if it exists)."""
    present, values = _values(decoded, written_at_ms)
    return {"Statement": insert_text(table, present), "Parameters": values}


def update_statement(table: str, decoded: DecodedEvent, written_at_ms: int) -> dict[str, Any]:
    """A ``BatchStatementRequest`` that replaces the kid's item if it holds an older event."""
    present, values = _values(decoded, written_at_ms)
    key, observed_at, event_id = values[0], values[4], values[3]
    return {
        "Statement": update_text(table, present),
        "Parameters": [*values[1:], key, observed_at, observed_at, event_id],
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
