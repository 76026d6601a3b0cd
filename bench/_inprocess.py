"""What the benchmarks share: AWS answered in-process by a botocore ``before-send`` hook (so
serialization, signing and parsing still run) and the KCL protocol's lines, as amazon_kclpy reads
them."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable
from typing import Any

#: the kid table's key, as DescribeTable answers it
KID_TABLE_KEY = {
    "KeySchema": [{"AttributeName": "kid_id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "kid_id", "AttributeType": "S"}],
}
BATCH_RECORDS = 500  # what the KCL delivers per process_records (maxRecords in our properties)
SHARD_ID = "shardId-000000000000"


# --- AWS answered in-process ---------------------------------------------------------------------
class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._body


class InProcessAws:
    """A ``before-send`` hook answering DynamoDB and S3 with success after ``latency_s``."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.calls = 0

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.endpoint_prefix
        client.meta.events.register_first(f"before-send.{client.meta.service_model.service_id.hyphenize()}", self)
        assert service in ("dynamodb", "s3")
        return client

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.calls += 1
        if self.latency_s:
            time.sleep(self.latency_s)
        target = request.headers.get("X-Amz-Target")
        if target is None:  # S3 (REST): PutObject
            return AWSResponse(request.url, 200, {"ETag": '"0"', "Content-Length": "0"}, _Raw(b""))  # type: ignore[arg-type]
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        body_bytes = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        raw = json.dumps(self.dynamodb_answer(operation, body_bytes)).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "Content-Length": str(len(raw))}
        return AWSResponse(request.url, 200, headers, _Raw(raw))  # type: ignore[arg-type]

    def dynamodb_answer(self, operation: str, body_bytes: bytes) -> dict[str, Any]:
        """The JSON answer to a DynamoDB call: success for every write, the kid table's key."""
        if operation == "BatchExecuteStatement":
            if b"nicelist-shape-probe-" in body_bytes:  # the sink's one start-up probe: no such item
                return {"Responses": [{"Error": {"Code": "ConditionalCheckFailed", "Message": "no item"}}]}
            count = body_bytes.count(b'"Statement":')  # one per statement, without parsing the JSON
            return {"Responses": [{"TableName": "kids"}] * count}
        if operation == "BatchWriteItem":
            return {"UnprocessedItems": {}}
        if operation == "DescribeTable":  # the sink checks the key schema once
            return {"Table": {"TableName": "kids", **KID_TABLE_KEY}}
        return {}


@functools.cache
def _session() -> Any:
    """One session for every client of the run (its loader caches the service models)."""
    import boto3

    return boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")


def client(service: str, aws: InProcessAws, **options: Any) -> Any:
    from botocore.config import Config

    made = _session().client(service, config=Config(**options))
    return aws.attach(made)


def batches(records: list[dict[str, Any]]) -> list[str]:
    """The daemon's ``processRecords`` lines (JSON), ``BATCH_RECORDS`` records each."""
    return [
        json.dumps({"action": "processRecords", "records": records[i : i + BATCH_RECORDS], "millisBehindLatest": 0})
        for i in range(0, len(records), BATCH_RECORDS)
    ]


def parse(line: str) -> Any:
    """A protocol line as amazon_kclpy reads it (records become ``messages.Record``)."""
    from amazon_kclpy import dispatch

    return json.loads(line, object_hook=dispatch.message_decode)


class Checkpointer:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, int | None]] = []

    def checkpoint(self, sequence_number: str | None = None, sub_sequence_number: int | None = None) -> None:
        self.calls.append((sequence_number, sub_sequence_number))
