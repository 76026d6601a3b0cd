"""KinesisSender reads every PutRecords answer honestly: never trusts a 200."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from producer._sender import Accepted, KinesisSender, Refused


class FakeClient:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def put_records(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


ENTRIES = [(b"a", "k1"), (b"b", "k2"), (b"c", "k3")]


def test_partial_failure_is_read_record_by_record() -> None:
    client = FakeClient(
        {
            "FailedRecordCount": 1,
            "Records": [
                {"ShardId": "shardId-0", "SequenceNumber": "1"},
                {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"},
                {"ShardId": "shardId-1", "SequenceNumber": "2"},
            ],
        }
    )
    outcomes = KinesisSender(client, "s").put_records(ENTRIES)
    assert outcomes == [
        Accepted("shardId-0", "1"),
        Refused("ProvisionedThroughputExceededException", "Rate exceeded"),
        Accepted("shardId-1", "2"),
    ]
    assert client.calls == [
        {
            "StreamName": "s",
            "Records": [
                {"Data": b"a", "PartitionKey": "k1"},
                {"Data": b"b", "PartitionKey": "k2"},
                {"Data": b"c", "PartitionKey": "k3"},
            ],
        }
    ]


def test_a_200_that_does_not_account_for_every_record_fails_the_rest() -> None:
    client = FakeClient({"FailedRecordCount": 0, "Records": [{"ShardId": "shardId-0", "SequenceNumber": "1"}, {}]})
    outcomes = KinesisSender(client, "s").put_records(ENTRIES)
    assert outcomes[0] == Accepted("shardId-0", "1")
    assert [o.error_code for o in outcomes[1:] if isinstance(o, Refused)] == ["MalformedResponse"] * 2


def test_whole_call_client_error_refuses_every_record_with_its_code() -> None:
    error = ClientError(
        {
            "Error": {"Code": "ResourceNotFoundException", "Message": "no stream"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "PutRecords",
    )
    outcomes = KinesisSender(FakeClient(error), "s").put_records(ENTRIES)
    assert outcomes == [Refused("ResourceNotFoundException", "no stream", 400, whole_call=True)] * 3


def test_connection_trouble_is_a_retryable_connection_error() -> None:
    for exc in (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), ReadTimeoutError(endpoint_url="x")):
        outcomes = KinesisSender(FakeClient(exc), "s").put_records(ENTRIES)
        assert {o.error_code for o in outcomes if isinstance(o, Refused)} == {"ConnectionError"}
        assert len(outcomes) == 3


def test_nothing_to_send_makes_no_call() -> None:
    client = FakeClient({})
    assert KinesisSender(client, "s").put_records([]) == []
    assert client.calls == []
