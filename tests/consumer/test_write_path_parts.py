"""Pure parts of the kid table's write path: error classes, the prebuilt JSON body, the settings."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from consumer import ConfigError, ProcessorConfig, RetryPolicy
from consumer.records import DecodedEvent, KinesisRecord
from consumer.sinks import DynamoDBSink, _prebuilt
from consumer.sinks._classify import Failure, classify_call, classify_statement
from consumer.sinks._partiql import insert_statement, update_statement
from tests.factories import BASE_MS, make_event


@pytest.mark.parametrize(
    ("code", "status", "failure"),
    [
        ("ProvisionedThroughputExceededException", 400, Failure.THROTTLED),
        ("ThrottlingException", 400, Failure.THROTTLED),
        ("RequestLimitExceeded", 400, Failure.THROTTLED),
        ("InternalServerError", 500, Failure.RETRYABLE),
        ("ServiceUnavailable", 503, Failure.RETRYABLE),
        ("ValidationException", 400, Failure.REFUSED),
        ("ItemCollectionSizeLimitExceededException", 400, Failure.REFUSED),
        ("AccessDeniedException", 400, Failure.SYSTEMIC),
        ("ResourceNotFoundException", 400, Failure.SYSTEMIC),
        ("KMSDisabledException", 400, Failure.SYSTEMIC),
        ("UnrecognizedClientException", 400, Failure.SYSTEMIC),
        ("SomethingNew", 400, Failure.SYSTEMIC),
    ],
)
def test_call_errors_are_retryable_refused_or_systemic(code: str, status: int, failure: Failure) -> None:
    assert classify_call(code, status) is failure


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("ThrottlingError", Failure.THROTTLED),
        ("ProvisionedThroughputExceeded", Failure.THROTTLED),
        ("RequestLimitExceeded", Failure.THROTTLED),
        ("TransactionConflict", Failure.RETRYABLE),
        ("InternalServerError", Failure.RETRYABLE),
        ("ValidationError", Failure.REFUSED),
        ("ItemCollectionSizeLimitExceeded", Failure.REFUSED),
        ("AccessDenied", Failure.SYSTEMIC),
        ("ResourceNotFound", Failure.SYSTEMIC),
    ],
)
def test_statement_errors_are_retryable_refused_or_systemic(code: str, failure: Failure) -> None:
    assert classify_statement(code) is failure


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b'{"Responses": []}'


def _sent_body(prebuilt: bool, statements: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    client = session.client("dynamodb", config=Config(parameter_validation=not prebuilt))
    if prebuilt:
        _prebuilt.install(client, "BatchExecuteStatement", "Statements", [{"Statement": "-"}])
    sent: dict[str, Any] = {}

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent["body"], sent["headers"] = request.body, dict(request.headers)
        return AWSResponse(request.url, 200, {}, _Raw())  # type: ignore[arg-type]

    client.meta.events.register_first("before-send.dynamodb.BatchExecuteStatement", answer)
    client.batch_execute_statement(Statements=statements)
    return sent["body"], sent["headers"]


def test_the_prebuilt_body_is_what_botocore_would_send_and_it_is_signed() -> None:
    event = DecodedEvent(
        KinesisRecord("shardId-1", "77", 0, "pk", BASE_MS, b""),
        make_event(note="ünïcode ✓", location={"lat": 1.25, "lon": -3.5}),
        "00" * 8,
    )
    statements = [insert_statement("kids", event, 5), update_statement("kids", event, 5)]
    ours, headers = _sent_body(True, statements)
    botocores, _ = _sent_body(False, statements)
    assert json.loads(ours) == json.loads(botocores) == {"Statements": statements}
    assert _signature_of(ours, headers) in headers["Authorization"].decode()  # signed over our body


def _signature_of(body: bytes, headers: dict[str, Any]) -> str:
    """The SigV4 signature of a request with ``body`` and ``headers``, recomputed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = ("Content-Type", "X-Amz-Date", "X-Amz-Target")
    text = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items() if k in signed}
    request = AWSRequest(method="POST", url="https://dynamodb.us-east-1.amazonaws.com/", data=body, headers=text)
    request.context["timestamp"] = text["X-Amz-Date"]
    auth = SigV4Auth(Credentials("t", "t"), "dynamodb", "us-east-1")
    return "Signature=" + auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


def test_write_path_settings_round_trip_through_the_environment() -> None:
    config = ProcessorConfig(
        dynamodb_write_path="put-item",
        dynamodb_batches_in_flight=3,
        dynamodb_overlap_batches=False,
        dynamodb_prebuilt_json=False,
        dynamodb_parameter_validation=True,
    )
    again = ProcessorConfig.from_env(config.to_env())
    assert (
        again.dynamodb_write_path,
        again.dynamodb_batches_in_flight,
        again.dynamodb_overlap_batches,
        again.dynamodb_prebuilt_json,
        again.dynamodb_parameter_validation,
    ) == ("put-item", 3, False, False, True)
    assert ProcessorConfig.from_env({}).dynamodb_write_path == "batch-statement"


@pytest.mark.parametrize(
    "env",
    [
        {"NICELIST_DYNAMODB_WRITE_PATH": "batch-write"},
        {"NICELIST_DYNAMODB_BATCHES_IN_FLIGHT": "0"},
        {"NICELIST_DYNAMODB_OVERLAP_BATCHES": "maybe"},
    ],
)
def test_bad_write_path_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        ProcessorConfig.from_env(env)


@pytest.mark.parametrize("protocol", ["json", "smithy-rpc-v2-cbor"])
def test_the_prebuilt_body_is_used_only_while_botocore_speaks_json_to_dynamodb(
    protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name="us-east-1")
    client = session.client("dynamodb")
    monkeypatch.setitem(client.meta.service_model.metadata, "protocol", protocol)  # this session's model only
    sink = DynamoDBSink(client, "kids", prebuilt_json=True, check_table=False)
    assert sink.prebuilt_json is (protocol == "json")
    sent: dict[str, Any] = {}

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent["body"] = request.body
        return AWSResponse(request.url, 200, {}, _Raw())  # type: ignore[arg-type]

    client.meta.events.register_first("before-send.dynamodb.BatchExecuteStatement", answer)
    statements = [{"Statement": "INSERT INTO \"kids\" VALUE {'kid_id': ?}", "Parameters": [{"S": "a"}]}]
    client.batch_execute_statement(Statements=statements)
    assert json.loads(sent["body"]) == {"Statements": statements}  # whichever serializer built it
    sink.close()


def test_every_processor_setting_reaches_the_processes_through_the_environment() -> None:
    """The worker hands its ProcessorConfig to each record processor as environment variables: a
    field that to_env() forgets would silently be its default in every processor."""
    config = ProcessorConfig(
        archive_max_file_bytes=12_345,
        archive_max_file_age_s=7.5,
        dynamodb_write_path="put-item",
        dynamodb_threads=3,
        dynamodb_batches_in_flight=5,
        dynamodb_parameter_validation=True,
        dynamodb_overlap_batches=False,
        dynamodb_prebuilt_json=False,
        sink_retry=RetryPolicy(max_attempts=9, base_delay_s=0.25, max_delay_s=2.5),
        checkpoint_retry=RetryPolicy(max_attempts=2, base_delay_s=0.5, max_delay_s=0.75),
        dynamodb_wait_poll_s=0.3,
        checkpoint_while_waiting_after_s=4.0,
        max_future_skew_ms=61_000,
    )
    defaults = ProcessorConfig()
    changed = {
        f.name for f in dataclasses.fields(ProcessorConfig) if getattr(config, f.name) != getattr(defaults, f.name)
    }
    assert changed == {f.name for f in dataclasses.fields(ProcessorConfig)} - {"names", "aws"}, "set every field"
    assert ProcessorConfig.from_env(config.to_env()) == config
