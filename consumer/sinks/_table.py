"""Is the kid table one the worker can write? Checked once, before the first write.

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

from typing import Any

KEY = "kid_id"
KEY_TYPE = "S"


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
