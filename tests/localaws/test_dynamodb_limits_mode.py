"""Limits mode through boto3: a DynamoDB table over its write capacity answers each API as
DynamoDB documents (localaws._dynamodb_throttle), and the stack publishes AWS/DynamoDB metrics.

Items of ~3 KB (3 write units) on a table of 1 write unit per second: the first write drains
the bucket into debt and every other write for the next ~3 s is refused, so no test depends on
how fast the machine is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from foundation.aws_errors import ErrorKind, classify, error_code, http_status
from localaws import LocalAWS
from tests.polling import wait_until
from tests.stack import unique_name

THROTTLED = "ProvisionedThroughputExceededException"
BIG = "x" * 3000  # 3 write units


@pytest.fixture
def dynamodb(limited_aws: LocalAWS) -> Any:
    return limited_aws.client("dynamodb", retries={"mode": "standard", "total_max_attempts": 1})


def make_table(dynamodb: Any, **capacity: Any) -> str:
    name = unique_name("kids")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        **(capacity or {"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
    )
    return name


def item(kid: str) -> dict[str, Any]:
    return {"kid_id": {"S": kid}, "note": {"S": BIG}}


def table_row(stack: LocalAWS, table: str) -> dict[str, Any]:
    return next(row for row in stack.limits()["tables"] if row["table"] == table)


def test_put_item_over_capacity_fails_with_provisioned_throughput_exceeded(dynamodb: Any) -> None:
    table = make_table(dynamodb)
    dynamodb.put_item(TableName=table, Item=item("kid-1"))
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName=table, Item=item("kid-2"))
    assert error_code(caught.value) == THROTTLED and http_status(caught.value) == 400
    assert classify(error_code(caught.value), http_status(caught.value)) is ErrorKind.THROTTLED
    reasons = caught.value.response["ThrottlingReasons"]
    assert reasons[0]["reason"] == "TableWriteProvisionedThroughputExceeded"
    assert reasons[0]["resource"].endswith(f":table/{table}")
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"kid_id": {"S": "kid-2"}})
    with pytest.raises(ClientError) as caught:
        dynamodb.update_item(
            TableName=table,
            Key={"kid_id": {"S": "kid-1"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
    assert error_code(caught.value) == THROTTLED


def test_a_failed_condition_still_consumes_capacity(dynamodb: Any, limited_aws: LocalAWS) -> None:
    table = make_table(dynamodb, BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName=table, Item={"kid_id": {"S": "kid-1"}})
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(
            TableName=table, Item={"kid_id": {"S": "kid-1"}}, ConditionExpression="attribute_not_exists(kid_id)"
        )
    assert error_code(caught.value) == "ConditionalCheckFailedException"
    row = table_row(limited_aws, table)
    assert row["WriteStatements"] == 2 and row["ConsumedWriteCapacityUnits"] == 2 and row["ItemsWritten"] == 1
    assert row["capacity_units_per_s"] == 4000  # a new on-demand table's warm throughput


def test_batch_write_item_returns_what_it_could_not_write_as_unprocessed(dynamodb: Any) -> None:
    table = make_table(dynamodb)
    requests = [{"PutRequest": {"Item": item(f"kid-{i}")}} for i in range(3)]
    response = dynamodb.batch_write_item(RequestItems={table: requests})
    assert response["UnprocessedItems"] == {table: requests[1:]}
    with pytest.raises(ClientError) as caught:  # none of them can be processed: the call fails
        dynamodb.batch_write_item(RequestItems={table: requests[1:]})
    assert error_code(caught.value) == THROTTLED
    assert dynamodb.scan(TableName=table)["Count"] == 1


def test_batch_execute_statement_throttles_statement_by_statement(dynamodb: Any, limited_aws: LocalAWS) -> None:
    table = make_table(dynamodb)
    statements = [
        {
            "Statement": f"INSERT INTO \"{table}\" VALUE {{'kid_id': ?, 'note': ?}}",
            "Parameters": [{"S": f"k{i}"}, {"S": BIG}],
        }
        for i in range(3)
    ]
    response = dynamodb.batch_execute_statement(Statements=statements)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    codes = [answer.get("Error", {}).get("Code") for answer in response["Responses"]]
    assert codes == [None, "ThrottlingError", "ThrottlingError"]
    row = table_row(limited_aws, table)
    assert row["WriteThrottleEvents"] == 2 and row["WriteStatements"] == 1 and row["ItemsWritten"] == 1


def test_an_on_demand_maximum_throttles(dynamodb: Any) -> None:
    table = make_table(dynamodb, BillingMode="PAY_PER_REQUEST", OnDemandThroughput={"MaxWriteRequestUnits": 1})
    dynamodb.put_item(TableName=table, Item=item("kid-1"))
    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName=table, Item=item("kid-2"))
    assert caught.value.response["ThrottlingReasons"][0]["reason"] == "TableWriteMaxOnDemandThroughputExceeded"


def test_the_stack_publishes_aws_dynamodb_metrics(dynamodb: Any, limited_aws: LocalAWS) -> None:
    table = make_table(dynamodb)
    dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item(f"k{i}")}} for i in range(3)]})
    cloudwatch = limited_aws.client("cloudwatch")

    def sums() -> dict[str, float]:
        now = datetime.now(UTC)
        queries = [
            {
                "Id": f"m{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/DynamoDB",
                        "MetricName": name,
                        "Dimensions": [{"Name": "TableName", "Value": table}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for index, name in enumerate(("ConsumedWriteCapacityUnits", "WriteThrottleEvents"))
        ]
        response = cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1)
        )
        names = {f"m{index}": name for index, name in enumerate(("ConsumedWriteCapacityUnits", "WriteThrottleEvents"))}
        return {names[r["Id"]]: float(sum(r["Values"])) for r in response["MetricDataResults"]}

    def published() -> dict[str, float] | None:
        values = sums()
        return values if values.get("WriteThrottleEvents", 0) >= 2 else None

    values = wait_until(published, timeout_s=20, what="AWS/DynamoDB metrics in CloudWatch")
    assert values["ConsumedWriteCapacityUnits"] == 3


def test_the_stack_counts_statements_sent_with_the_wrong_verb(dynamodb: Any, limited_aws: LocalAWS) -> None:
    """An INSERT of an existing kid and an UPDATE of a missing one each reach the table (and cost
    capacity) without writing: the statements beyond one per kid write."""
    table = make_table(dynamodb, BillingMode="PAY_PER_REQUEST")
    insert = f"INSERT INTO \"{table}\" VALUE {{'kid_id': ?, 'n': ?}}"
    update = f'UPDATE "{table}" SET "n" = ? WHERE "kid_id" = ?'
    statements = [
        {"Statement": insert, "Parameters": [{"S": "a"}, {"N": "1"}]},
        {"Statement": update, "Parameters": [{"N": "2"}, {"S": "b"}]},
    ]
    dynamodb.batch_execute_statement(Statements=statements)
    again = [
        {"Statement": insert, "Parameters": [{"S": "a"}, {"N": "3"}]},
        {"Statement": update, "Parameters": [{"N": "4"}, {"S": "a"}]},
    ]
    codes = [r.get("Error", {}).get("Code") for r in dynamodb.batch_execute_statement(Statements=again)["Responses"]]
    assert codes == ["DuplicateItem", None]
    row = table_row(limited_aws, table)
    assert (row["WriteStatements"], row["ItemsWritten"], row["MisdirectedStatements"]) == (4, 2, 2)
