"""Fault injection: matching, counting, and error responses in each service's real shape."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import LocalAWS, StackAdminError
from localaws._faults import Fault, FaultTable, classify
from tests.stack import unique_name

_AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"


def test_a_fault_fires_count_times_for_its_service_and_operation_only() -> None:
    table = FaultTable()
    table.add(Fault(service="dynamodb", operation="BatchWriteItem", error_code="ThrottlingException", count=2))
    assert table.take("dynamodb", "UpdateItem") is None
    assert table.take("s3", "BatchWriteItem") is None
    assert table.take("dynamodb", "BatchWriteItem") is not None
    assert table.snapshot()[0]["remaining"] == 1
    assert table.take("dynamodb", "BatchWriteItem") is not None
    assert table.take("dynamodb", "BatchWriteItem") is None
    table.add(Fault(service="s3", error_code="SlowDown", http_status=503))
    assert table.take("s3", "GetObject") is not None  # operation None matches any operation
    table.add(Fault(service="s3", error_code="SlowDown", http_status=503))
    assert table.clear() == 1 and table.snapshot() == []


@pytest.mark.parametrize(
    "document",
    [
        {"service": "sqs", "error_code": "X"},
        {"service": "s3", "error_code": ""},
        {"service": "s3", "error_code": "X", "count": 0},
        {"service": "s3", "error_code": "X", "http_status": 200},
        {"service": "s3", "error_code": "X", "colour": "red"},
    ],
)
def test_bad_fault_specs_are_rejected(document: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Fault.from_json(document)


def test_slowdown_defaults_to_503() -> None:
    assert Fault.from_json({"service": "s3", "error_code": "SlowDown"}).http_status == 503
    assert (
        Fault.from_json({"service": "kinesis", "error_code": "ProvisionedThroughputExceededException"}).http_status
        == 400
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"HTTP_AUTHORIZATION": _AUTH.format("kinesis"), "HTTP_X_AMZ_TARGET": "Kinesis_20131202.PutRecords"},
            ("kinesis", "PutRecords", "json"),
        ),
        (
            {"HTTP_AUTHORIZATION": _AUTH.format("dynamodb"), "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.BatchWriteItem"},
            ("dynamodb", "BatchWriteItem", "json"),
        ),
        (
            {"HTTP_AUTHORIZATION": _AUTH.format("s3"), "REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/events/x.avro"},
            ("s3", "PutObject", "rest-xml"),
        ),
        (
            {
                "HTTP_AUTHORIZATION": _AUTH.format("s3"),
                "REQUEST_METHOD": "GET",
                "PATH_INFO": "/bucket",
                "QUERY_STRING": "list-type=2&prefix=events/",
            },
            ("s3", "ListObjectsV2", "rest-xml"),
        ),
        (
            {
                "HTTP_AUTHORIZATION": _AUTH.format("monitoring"),
                "CONTENT_TYPE": "application/cbor",
                "PATH_INFO": "/service/GraniteServiceVersion20100801/operation/PutMetricData",
            },
            ("cloudwatch", "PutMetricData", "cbor"),
        ),
        (
            {"HTTP_X_AMZ_TARGET": "Kinesis_20131202.GetRecords"},  # unsigned
            ("kinesis", "GetRecords", "json"),
        ),
    ],
)
def test_requests_are_classified_by_service_operation_and_protocol(
    environ: dict[str, str], expected: tuple[str, str, str]
) -> None:
    info = classify(environ)
    assert (info.service, info.operation, info.protocol) == expected


def _no_retries(local_aws: LocalAWS, service: str) -> Any:
    return local_aws.client(service, retries={"mode": "standard", "total_max_attempts": 1})


def test_injected_faults_reach_boto3_as_the_real_errors(clean_faults: LocalAWS) -> None:
    stack = clean_faults
    bucket, table, stream = unique_name("faults"), unique_name("faults"), unique_name("faults")
    stack.client("s3").create_bucket(Bucket=bucket)
    stack.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack.client("kinesis").create_stream(StreamName=stream, ShardCount=1)
    s3, dynamodb = _no_retries(stack, "s3"), _no_retries(stack, "dynamodb")
    kinesis, cloudwatch = _no_retries(stack, "kinesis"), _no_retries(stack, "cloudwatch")
    calls = {
        "s3": lambda: s3.put_object(Bucket=bucket, Key="a", Body=b"1"),
        "dynamodb": lambda: dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": {"kid_id": {"S": "k1"}}}}]}
        ),
        "kinesis": lambda: kinesis.put_records(StreamName=stream, Records=[{"Data": b"x", "PartitionKey": "k"}]),
        "cloudwatch": lambda: cloudwatch.put_metric_data(Namespace="t", MetricData=[{"MetricName": "m", "Value": 1}]),
    }
    faults = {
        "s3": ("PutObject", "SlowDown", 503),
        "dynamodb": ("BatchWriteItem", "ProvisionedThroughputExceededException", 400),
        "kinesis": ("PutRecords", "ProvisionedThroughputExceededException", 400),
        "cloudwatch": ("PutMetricData", "Throttling", 400),
    }
    for service, (operation, code, status) in faults.items():
        stack.inject_fault(service=service, operation=operation, error_code=code, count=2)
        for _ in range(2):
            with pytest.raises(ClientError) as failure:
                calls[service]()
            assert failure.value.response["Error"]["Code"] == code, service
            assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == status, service
        calls[service]()  # the count is spent: the next call goes through
    assert stack.faults() == []


def test_standard_retries_ride_out_a_short_fault(clean_faults: LocalAWS) -> None:
    stream = unique_name("faults")
    kinesis = clean_faults.client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    clean_faults.inject_fault(
        service="kinesis", operation="PutRecord", error_code="ProvisionedThroughputExceededException"
    )
    assert kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k")["SequenceNumber"] == "1"


def test_the_admin_endpoint_rejects_a_bad_fault(local_aws: LocalAWS) -> None:
    with pytest.raises(StackAdminError, match="service must be one of"):
        local_aws.inject_fault(service="sqs", error_code="X")
