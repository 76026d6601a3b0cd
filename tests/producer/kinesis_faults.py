"""Fault injection for an in-process moto Kinesis through botocore ``before-send`` hooks.

A hook registered first answers PutRecords itself. moto's own ``before-send`` stubber still sees
the request afterwards (botocore calls every handler), so the hook points the request at a host
moto does not serve: moto then ignores it and only the hook's answer counts. For a partial
failure the hook forwards the records that should succeed with a second, unhooked client (so
moto really stores them) and answers with their real shard ids and sequence numbers.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

import schemas

_NOT_MOTO = "http://fault-injected.invalid/"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._body


def _response(url: str, status: int, body: dict[str, Any]) -> AWSResponse:
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fault-injected"}
    return AWSResponse(url, status, headers, _Raw(json.dumps(body).encode()))  # type: ignore[arg-type]


#: One scripted answer: "throttle" (whole call), "error:<Code>" (whole call, HTTP 400),
#: "500", "reset" (connection closed), ("partial", failing_indexes_fn, error_code), or None (pass).
Fault = Any


class KinesisFaults:
    """Scripted PutRecords faults for one boto3 client; ``calls`` counts every PutRecords seen."""

    def __init__(self, client: Any, passthrough: Any) -> None:
        self._passthrough = passthrough
        self._script: deque[Fault] = deque()
        self._always: Fault = None
        self._lock = threading.Lock()
        self.calls = 0
        self.faulted = 0
        client.meta.events.register_first("before-send.kinesis.PutRecords", self._before_send)

    def script(self, *faults: Fault) -> None:
        """Answer the next PutRecords calls with these faults, in order."""
        with self._lock:
            self._script.extend(faults)

    def always(self, fault: Fault) -> None:
        """Answer every call with ``fault`` (None: stop) once the script is used up."""
        with self._lock:
            self._always = fault

    def _next(self) -> Fault:
        with self._lock:
            self.calls += 1
            return self._script.popleft() if self._script else self._always

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        fault = self._next()
        if fault is None:
            return None
        self.faulted += 1
        url = request.url
        body = json.loads(request.body)
        request.url = _NOT_MOTO  # moto's stubber must not store what we answer for it
        if fault == "throttle":
            return _response(url, 400, {"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded"})
        if fault == "500":
            return _response(url, 500, {"__type": "InternalFailure", "message": "injected"})
        if fault == "reset":
            raise ConnectionClosedError(endpoint_url=url)
        if isinstance(fault, str) and fault.startswith("error:"):
            return _response(url, 400, {"__type": fault.split(":", 1)[1], "message": "injected"})
        kind, failing, code = fault
        assert kind == "partial"
        return self._partial(url, body, failing, code)

    def _partial(self, url: str, body: dict[str, Any], failing: Callable[[int], set[int]], code: str) -> AWSResponse:
        records = body["Records"]
        bad = failing(len(records))
        good = [i for i in range(len(records)) if i not in bad]
        stored: list[dict[str, Any]] = []
        if good:
            answer = self._passthrough.put_records(
                StreamName=body["StreamName"],
                Records=[
                    {"Data": base64.b64decode(records[i]["Data"]), "PartitionKey": records[i]["PartitionKey"]}
                    for i in good
                ],
            )
            stored = answer["Records"]
        results: list[dict[str, Any]] = []
        it = iter(stored)
        for i in range(len(records)):
            results.append({"ErrorCode": code, "ErrorMessage": "injected"} if i in bad else next(it))
        return _response(url, 200, {"FailedRecordCount": len(bad), "Records": results})


def read_events(client: Any, stream: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(shard id, user record, decoded event) of every user record in the stream, deaggregated
    with aws-kinesis-agg's own deaggregator."""
    found = []
    shards = client.list_shards(StreamName=stream)["Shards"]
    for shard in shards:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=10_000)
            if not page["Records"]:
                break
            for user in iter_deaggregate_records(page["Records"], data_format="Boto3"):
                record = user["kinesis"]
                event = schemas.decode_event(base64.b64decode(record["data"]))
                found.append((shard["ShardId"], record, event))
            iterator = page.get("NextShardIterator")
    return found
