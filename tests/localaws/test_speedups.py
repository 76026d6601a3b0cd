"""Speed-ups change no behaviour: conditional writes and dispatch still answer as moto does."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws._moto_speedups.dynamodb_conditions import LruCache, parse_key
from tests.stack import unique_name

CONDITION = (
    "attribute_not_exists(kid_id) OR observed_at < :observed_at "
    "OR (observed_at = :observed_at AND event_id < :event_id)"
)


def _put(dynamodb: Any, table: str, observed_at: int, event_id: str) -> bool:
    try:
        dynamodb.put_item(
            TableName=table,
            Item={"kid_id": {"S": "kid-1"}, "observed_at": {"N": str(observed_at)}, "event_id": {"S": event_id}},
            ConditionExpression=CONDITION,
            ExpressionAttributeValues={":observed_at": {"N": str(observed_at)}, ":event_id": {"S": event_id}},
        )
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
        return False


def test_last_writer_wins_with_one_expression_and_many_values(aws_client: Any) -> None:
    dynamodb = aws_client("dynamodb")
    table = unique_name("speed")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    outcomes = [
        _put(dynamodb, table, 5, "b"),
        _put(dynamodb, table, 3, "z"),  # older: refused
        _put(dynamodb, table, 5, "a"),  # same instant, smaller id: refused
        _put(dynamodb, table, 5, "c"),  # same instant, larger id: wins
        _put(dynamodb, table, 5, "c"),  # exact replay (a cached parse): refused
        _put(dynamodb, table, 9, "a"),
    ]
    assert outcomes == [True, False, False, True, False, True]
    item = dynamodb.get_item(TableName=table, Key={"kid_id": {"S": "kid-1"}})["Item"]
    assert (item["observed_at"]["N"], item["event_id"]["S"]) == ("9", "a")


def test_an_unused_attribute_name_is_still_rejected_on_a_cached_parse(aws_client: Any) -> None:
    dynamodb = aws_client("dynamodb")
    table = unique_name("speed")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            dynamodb.put_item(
                TableName=table,
                Item={"kid_id": {"S": "k"}},
                ConditionExpression="attribute_not_exists(kid_id)",
                ExpressionAttributeNames={"#unused": "x"},
            )
        assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_lru_cache_and_keys() -> None:
    cache = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert (cache.get("b"), cache.get("a"), cache.get("c"), len(cache)) == (None, 1, 3, 2)
    assert parse_key("x = :v", {}, {":v": {"N": "1"}}) != parse_key("x = :v", {}, {":v": {"N": "2"}})
    assert parse_key("x = :v", {}, {":v": object()}) is None
