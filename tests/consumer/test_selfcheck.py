"""``nicelist selfcheck`` against the embedded stack: every check runs and says what it found; the
command refuses the pipeline's own kid table and fails when the scratch table has another key."""

from __future__ import annotations

import json

import pytest

from consumer.selfcheck import CONFIRMED, DIFFERS, SelfCheck
from localaws import LocalAWS
from nicelist.cli import main
from tests.stack import unique_name

#: what the embedded stack answers as AWS documents (moto with localaws' DynamoDB fixes)
EXPECTED_CONFIRMED = {
    "json-protocol",
    "key-schema",
    "insert-duplicate",
    "old-item-returned",
    "no-item-when-no-row",
    "parenthesised-or",
    "remove-absent-attribute",
}


def test_selfcheck_creates_the_scratch_table_and_confirms_the_assumptions(
    local_aws: LocalAWS, capsys: pytest.CaptureFixture[str]
) -> None:
    table = unique_name("scratch")
    code = main(["selfcheck", "--scratch-table", table, "--create", "--endpoint", local_aws.endpoint_url, "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert set(checks) >= EXPECTED_CONFIRMED
    assert {n for n in EXPECTED_CONFIRMED if checks[n]["outcome"] != CONFIRMED} == set(), checks
    assert {"out-of-range-number", "same-key-twice", "failed-insert-billed"} <= set(checks)
    assert all(c["assumption"] and c["detail"] for c in checks.values())
    assert code == (1 if any(c["outcome"] == DIFFERS for c in checks.values()) else 0)


def test_selfcheck_says_differs_for_a_table_with_a_sort_key(local_aws: LocalAWS) -> None:
    client = local_aws.client("dynamodb")
    table = unique_name("scratch")
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "kid_id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    checks = SelfCheck(client, table).run()
    assert [(c.name, c.outcome) for c in checks] == [("json-protocol", CONFIRMED), ("key-schema", DIFFERS)]


def test_selfcheck_refuses_the_pipelines_own_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck", "--scratch-table", "nicelist-kids"]) == 2
    assert "scratch table" in capsys.readouterr().err
