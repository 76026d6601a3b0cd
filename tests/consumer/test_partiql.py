"""The PartiQL statements of the batch-statement write path: pure, no AWS."""

from __future__ import annotations

from typing import Any

import pytest

from consumer.dedupe import to_item
from consumer.records import DecodedEvent, KinesisRecord
from consumer.sinks._partiql import KEY, OPTIONAL, REQUIRED, insert_statement, update_statement
from tests.factories import BASE_MS, make_event


def decoded(**overrides: Any) -> DecodedEvent:
    return DecodedEvent(KinesisRecord("shardId-7", "4242", 3, "pk", BASE_MS, b""), make_event(**overrides), "00" * 8)


SHAPES = [
    {},
    {"note": "helped", "location": {"lat": 1.5, "lon": -2.25}, "app_version": "elfapp/2"},
    {"location": {"lat": 0, "lon": 180}},
]


@pytest.mark.parametrize("extra", SHAPES)
def test_insert_carries_exactly_the_item_put_item_would_write(extra: dict[str, Any]) -> None:
    event = decoded(**extra)
    statement = insert_statement("kids", event, 42)
    item = to_item(event, 42)
    names = [KEY, *REQUIRED, *(n for n in OPTIONAL if n in item)]
    assert statement["Statement"] == 'INSERT INTO "kids" VALUE {' + ", ".join(f"'{n}': ?" for n in names) + "}"
    assert dict(zip(names, statement["Parameters"], strict=True)) == item


@pytest.mark.parametrize("extra", SHAPES)
def test_update_sets_the_item_removes_absent_optionals_and_keeps_the_newer_rule(extra: dict[str, Any]) -> None:
    event = decoded(**extra)
    statement = update_statement("kids", event, 42)
    item = to_item(event, 42)
    present = [n for n in OPTIONAL if n in item]
    text = statement["Statement"]
    assert statement["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    for name in OPTIONAL:
        assert (f'REMOVE "{name}"' in text) == (name not in item)
    assert text.endswith('WHERE "kid_id" = ? AND ("observed_at" < ? OR ("observed_at" = ? AND "event_id" < ?))')
    sets = [*REQUIRED, *present]
    assert dict(zip(sets, statement["Parameters"], strict=False)) == {n: item[n] for n in sets}
    assert statement["Parameters"][len(sets) :] == [
        item["kid_id"],
        item["observed_at"],
        item["observed_at"],
        item["event_id"],
    ]
