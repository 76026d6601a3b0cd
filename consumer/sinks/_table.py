"""Is the kid table one the worker can write? Checked once, before the first write, two ways:

1. ``DescribeTable``: the key schema must be ``kid_id`` (S) alone (:func:`key_schema_problem`).
2. The statement shapes (batch-statement path): one UPDATE of the worker's own shape for a kid
   that cannot exist (:func:`probe_event`), which cannot change an item (an UPDATE whose WHERE
   matches no item creates nothing and fails ``ConditionalCheckFailed``: documented). It checks
   what the documentation leaves open about our UPDATE (the parenthesised OR in its WHERE, SET
   and REMOVE clauses together): a refusal stops the worker before anything is dead-lettered
   (:func:`probe_problem`). It costs one write unit per processor start.

DynamoDB documents what ``DescribeTable`` answers (``KeySchema``, ``AttributeDefinitions``:
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DescribeTable.html); it costs
no write capacity and names the problem exactly. What it does not document is how a PartiQL
write into a table of another key schema fails: an outside probe saw those writes refused one
by one as ``ValidationError`` (each one would have been dead-lettered) or even stored. So the
worker reads the key schema first and stops (exit 70, nothing checkpointed) when it is not
``kid_id`` (S) alone; the refusals seen later are checked as well
(:func:`._classify.refusals_are_systemic`). See docs/ASSUMPTIONS.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..records import DecodedEvent, KinesisRecord

KEY = "kid_id"
KEY_TYPE = "S"
#: kid ids of the probe: never a real kid's (those come from elves' devices, never this prefix)
PROBE_PREFIX = "nicelist-shape-probe-"


def probe_event() -> DecodedEvent:
    """An event of a kid no table holds, for the shape probe."""
    kid = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    record = KinesisRecord("probe", "0", 0, kid, 0, b"")
    event = {"kid_id": kid, "event_id": str(uuid.uuid4()), "elf_id": "probe", "behaviour": "NICE", "observed_at": 0}
    return DecodedEvent(record, event, "00" * 8)


def probe_problem(table: str, response: dict[str, Any]) -> str | None:
    """What the probe UPDATE's answer says is wrong, or None (``ConditionalCheckFailed``)."""
    error = response.get("Error")
    if not error:
        return (
            f"an UPDATE of a kid with no item succeeded in {table}; the worker relies on UPDATE never creating "
            "an item (its INSERT/UPDATE choice would be wrong)"
        )
    code = str(error.get("Code", ""))
    if code == "ConditionalCheckFailed":
        return None
    return f"DynamoDB refuses the worker's UPDATE statement on {table}: {code}: {error.get('Message', '')}"


def key_schema_problem(table: str, description: dict[str, Any]) -> str | None:
    """What is wrong with a DescribeTable answer's ``Table`` for the kid table, or None."""
    keys = [(k.get("AttributeName"), k.get("KeyType")) for k in description.get("KeySchema", [])]
    types = {a.get("AttributeName"): a.get("AttributeType") for a in description.get("AttributeDefinitions", [])}
    shown = ", ".join(f"{kind} {name} ({types.get(name, '?')})" for name, kind in keys) or "none"
    if keys == [(KEY, "HASH")] and types.get(KEY) == KEY_TYPE:
        return None
    return (
        f"the kid table {table} has the key {shown}; the worker writes items keyed by {KEY} "
        f"({KEY_TYPE}, the partition key) alone, no sort key. Point NICELIST_TABLE at the table "
        "`nicelist provision` creates, or create it with that key"
    )
