"""The shipped IAM policies against what each role's code really calls, resource by resource.

``test_iam.py`` reads the code for operation names. Here each role's code runs on the embedded
stack while every boto3 call is recorded with its parameters; the parameters give the resource
ARN IAM evaluates (stream, table or index, bucket or object), and the role's policy, rendered for
this run's names, region and account, must hold an Allow statement that matches the action, the
resource and its condition. A wrong prefix, table or bucket in a policy fails here, not on AWS.
(The KCL's own calls come from Java and are not seen here; ``test_iam.py`` covers their actions.)

KMS: with a customer managed key, Kinesis and S3 call KMS on the caller's behalf, so no KMS call
is seen in this process. They are derived from what is seen: each PutRecords on a stream whose
summary says ``EncryptionType: KMS`` needs ``kms:GenerateDataKey`` through Kinesis (moto keeps the
stream's encryption setting but leaves it out of PutRecords answers, so the summary is read); each
PutObject that S3 answers with ``SSEKMSKeyId`` needs ``kms:GenerateDataKey`` through S3, each
GetObject of such an object ``kms:Decrypt``; the worker's KCL GetRecords needs ``kms:Decrypt``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from amazon_kclpy import messages
from botocore.client import BaseClient

from consumer.app import build_processor
from consumer.archive import ArchiveFile
from consumer.config import ProcessorConfig
from demo._workers import leases_owned
from deploy import policy_for
from foundation.settings import AwsSettings, PipelineNames
from localaws import LocalAWS
from nicelist.cli import main
from producer import Producer, ProducerConfig
from schemas import encode_event
from tests.archive_fixtures import archived_row
from tests.consumer.helpers import FakeCheckpointer, initialize_input, kcl_record, process_input, with_checkpointer
from tests.deploy.test_iam import iam_action, is_allowed
from tests.factories import make_event
from tests.stack import aws_client, local_aws, unique_name  # noqa: F401  (shared with the tests.stack plugin)

#: moto's account id
ACCOUNT = "123456789012"


#: a customer managed key (moto's Kinesis and S3 take any key id without asking KMS)
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
_PARTIQL = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\s.*?\sFROM)\s+"?([\w.-]+)"?', re.I | re.S)


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: Mapping[str, Any]
    response: Mapping[str, Any] | None = None

    @property
    def action(self) -> str:
        return iam_action(self.service, self.operation)

    def resources(self, region: str) -> list[str]:
        """The ARNs IAM checks for this call; ``[]`` when the parameters name none."""
        p = self.params
        if self.service == "kinesis":
            if "StreamARN" in p:
                return [p["StreamARN"]]
            return [f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{p['StreamName']}"] if "StreamName" in p else []
        if self.service == "dynamodb":
            tables = [p["TableName"]] if "TableName" in p else list(p.get("RequestItems", {}))
            arns = [f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}" for table in tables]
            return [f"{arn}/index/{p['IndexName']}" for arn in arns] if "IndexName" in p else arns
        if self.service == "s3" and "Bucket" in p:
            return [f"arn:aws:s3:::{p['Bucket']}" + (f"/{p['Key']}" if "Key" in p else "")]
        if self.service == "kms":
            return [p["KeyId"]]
        return []


def partiql_calls(service: str, operation: str, params: Mapping[str, Any]) -> list[Call]:
    """ExecuteStatement and BatchExecuteStatement as IAM sees them: one PartiQL action per
    statement (dynamodb:PartiQLInsert, PartiQLUpdate, ...) on the table it names."""
    statements = params.get("Statements") or [params]
    found = []
    for statement in statements:
        match = _PARTIQL.match(statement["Statement"])
        assert match, f"teach this test the statement {statement['Statement']!r}"
        verb = match.group(1).split()[0].capitalize()
        found.append(Call(service, f"PartiQL{verb}", {"TableName": match.group(2)}))
    return found


def kms_calls(calls: list[Call], encrypted_streams: set[str], *, kcl_reads: bool = False) -> list[Call]:
    """The KMS calls Kinesis and S3 make on the caller's behalf for ``calls``."""
    found = []

    def use(operation: str, key: str, via: str) -> None:
        found.append(Call("kms", operation, {"KeyId": key, "ViaService": via}))

    for call in calls:
        putting = call.service == "kinesis" and call.operation in ("PutRecords", "PutRecord")
        if putting and call.params.get("StreamName") in encrypted_streams:
            use("GenerateDataKey", KEY_ARN, "kinesis")
        if call.service == "s3" and call.response and call.response.get("SSEKMSKeyId"):
            operation = "GenerateDataKey" if call.operation == "PutObject" else "Decrypt"
            use(operation, call.response["SSEKMSKeyId"], "s3")
    if kcl_reads:
        use("Decrypt", KEY_ARN, "kinesis")
    return found


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], call: Call, region: str) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if (operator, key) == ("StringEquals", "cloudwatch:namespace"):
                if call.params.get("Namespace") != expected:
                    return False
            elif (operator, key) == ("Null", "s3:if-none-match"):
                # "false": the request must carry If-None-Match (a create-only PutObject)
                if ("IfNoneMatch" in call.params) != (expected == "false"):
                    return False
            elif (operator, key) == ("StringLike", "kms:ViaService"):
                via = f"{call.params.get('ViaService')}.{region}.amazonaws.com"
                if not any(fnmatch.fnmatchcase(via, pattern) for pattern in _listed(expected)):
                    return False
            else:
                raise AssertionError(f"teach this test the condition {operator} {key}")
    return True


def allowed(policy: Mapping[str, Any], call: Call, region: str) -> bool:
    """True when an Allow statement matches the call's action, every resource and the condition."""
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not is_allowed(call.action, set(_listed(statement["Action"]))):
            continue
        patterns = _listed(statement["Resource"])
        resources = call.resources(region) or ["*"]
        if not all(any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns) for arn in resources):
            continue
        if _condition_holds(statement.get("Condition", {}), call, region):
            return True
    return False


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Call]]:
    """Every boto3 call made in this process (any thread) while the test runs."""
    recorded: list[Call] = []
    original = BaseClient._make_api_call

    def record(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        if service == "dynamodb" and operation in ("ExecuteStatement", "BatchExecuteStatement"):
            recorded.extend(partiql_calls(service, operation, params))
            return original(client, operation, params)
        try:
            response = original(client, operation, params)
        except Exception:
            recorded.append(Call(service, operation, dict(params)))
            raise
        recorded.append(Call(service, operation, dict(params), response))
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    yield recorded


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> PipelineNames:
    names = PipelineNames(
        stream=unique_name("iam"),
        table=unique_name("iam-kids"),
        bucket=unique_name("iam-archive"),
        application=unique_name("iam-app"),
    )
    # the commands name the autoscaler's lock table after the application
    monkeypatch.setenv("NICELIST_APPLICATION", names.application)
    return names


def check(
    role: str, names: PipelineNames, stack: LocalAWS, calls: list[Call], kms_key_arns: tuple[str, ...] = ()
) -> set[str]:
    """Assert the role's policy allows every recorded call; return the actions seen."""
    policy = policy_for(role, names, region=stack.region, account=ACCOUNT, kms_key_arns=kms_key_arns)
    refused = sorted(
        {f"{c.action} on {c.resources(stack.region) or '*'}" for c in calls if not allowed(policy, c, stack.region)}
    )
    assert refused == [], f"the {role} policy refuses calls its code makes: {refused}"
    return {c.action for c in calls}


def _provision(stack: LocalAWS, names: PipelineNames, shards: int = 2) -> None:
    argv = ["provision", "--endpoint", stack.endpoint_url, "--shards", str(shards)]
    assert main([*argv, "--stream", names.stream, "--table", names.table, "--bucket", names.bucket]) == 0


def test_the_admin_policy_allows_provision_reshard_status_and_reconcile(
    local_aws: LocalAWS,  # noqa: F811
    names: PipelineNames,
    calls: list[Call],
) -> None:
    _provision(local_aws, names)

    def reshard(*args: str) -> None:
        options = ["--stream", names.stream, "--endpoint", local_aws.endpoint_url]
        waits = ["--poll-interval", "0.2"] if args[0] != "status" else []
        assert main(["reshard", *args, *options, *waits]) == 0

    reshard("status")
    reshard("split", "shardId-000000000000", "--yes")
    reshard("merge", "shardId-000000000002", "shardId-000000000003", "--yes")
    reshard("scale", "--shards", "4", "--yes")
    reshard("rebalance", "--yes")
    stores = ["--table", names.table, "--bucket", names.bucket, "--endpoint", local_aws.endpoint_url]
    assert main(["reconcile", "--no-progress", *stores]) == 0
    leases_owned(local_aws.client("dynamodb"), names.application)  # the demo's wait for the KCL's leases
    # compaction and the local query run as admin too, on an archive the worker wrote (calls not counted)
    mark = len(calls)
    archived = ArchiveFile.of([archived_row(1), archived_row(2)])
    local_aws.client("s3").put_object(Bucket=names.bucket, Key=archived.key, Body=archived.body)
    del calls[mark:]
    archive = ["--bucket", names.bucket, "--endpoint", local_aws.endpoint_url]
    assert main(["compact", "--no-progress", "--grace-minutes", "0", *archive]) == 0
    assert main(["query", "--example", "busiest-elves", *archive]) == 0

    seen = check("admin", names, local_aws, calls)
    assert {"kinesis:CreateStream", "kinesis:SplitShard", "kinesis:MergeShards", "kinesis:UpdateShardCount"} <= seen
    assert {"dynamodb:CreateTable", "dynamodb:Scan", "s3:CreateBucket", "s3:ListBucket"} <= seen
    assert {"s3:GetObject", "s3:PutObject"} <= seen


def test_the_admin_policy_allows_the_autoscaler(
    local_aws: LocalAWS,  # noqa: F811
    names: PipelineNames,
    calls: list[Call],
    tmp_path: Path,
) -> None:
    _provision(local_aws, names)
    del calls[:]
    options = ["--stream", names.stream, "--endpoint", local_aws.endpoint_url, "--state-file", str(tmp_path / "s")]
    # a floor above today's count: the one decision is a scale-up, so every call it makes is seen
    assert main(["autoscale", "--once", "--floor", "2020-01-01=4", "--period", "60", *options]) == 0
    seen = check("admin", names, local_aws, calls)
    assert {"kinesis:UpdateShardCount", "cloudwatch:GetMetricData", "cloudwatch:PutMetricData"} <= seen
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= seen  # the one-autoscaler-per-stream lock


def test_the_producer_policy_allows_the_sdk_and_the_load_generator(
    local_aws: LocalAWS,  # noqa: F811
    names: PipelineNames,
    calls: list[Call],
    tmp_path: Path,
) -> None:
    _provision(local_aws, names)
    del calls[:]  # provisioning is the admin's part
    config = ProducerConfig(stream_name=names.stream, kinesis_client=local_aws.client("kinesis"), spool_dir=tmp_path)
    with Producer(config) as producer:
        producer.put(make_event()).result(30)
    load = ["--events", "50", "--rate", "0", "--kids", "10", "--elves", "2", "--no-progress", "--no-spool"]
    assert main(["produce", "--stream", names.stream, "--endpoint", local_aws.endpoint_url, *load]) == 0

    assert check("producer", names, local_aws, calls) == {"kinesis:PutRecords"}


def test_the_worker_policy_allows_the_record_processor_including_a_replay(
    local_aws: LocalAWS,  # noqa: F811
    names: PipelineNames,
    calls: list[Call],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _provision(local_aws, names)
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)  # a processor that gives up must fail this test, not end it
    del calls[:]
    records = [kcl_record(encode_event(make_event())) for _ in range(5)] + [kcl_record(b"not an event")]
    config = ProcessorConfig(names=names, aws=AwsSettings(region=local_aws.region, endpoint_url=local_aws.endpoint_url))
    for _ in range(2):  # the second run replays the same records: its archive file's key is taken
        processor = build_processor(config)
        processor.initialize(initialize_input())
        checkpointer = FakeCheckpointer()
        processor.process_records(process_input(records, checkpointer))
        shutdown = with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer)
        processor.shutdown_requested(shutdown)
        assert checkpointer.calls, "the processor should have stored the batch and checkpointed"
    assert exits == []

    seen = check("worker", names, local_aws, calls)
    # the default write path: INSERT for a new kid, UPDATE when the replay finds the item there
    assert {"dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "s3:PutObject", "s3:GetObject"} <= seen
    puts = {c.params["Key"].split("/")[0] for c in calls if c.operation == "PutObject"}
    assert puts == {"events", "dead-letter"}


def test_with_a_customer_managed_key_every_role_may_use_it_and_only_through_its_services(
    local_aws: LocalAWS,  # noqa: F811
    names: PipelineNames,
    calls: list[Call],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Stream and bucket encrypted with a customer managed key: the policies rendered with that
    key allow the KMS calls Kinesis and S3 make for each role; without it they do not."""
    assert local_aws.region in KEY_ARN
    argv = ["provision", "--endpoint", local_aws.endpoint_url, "--shards", "1", "--kms-key", KEY_ARN]
    argv += ["--bucket-kms-key", KEY_ARN, "--stream", names.stream, "--table", names.table, "--bucket", names.bucket]
    assert main(argv) == 0
    summary = local_aws.client("kinesis").describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", KEY_ARN)
    admin = list(calls)
    assert any(c.operation == "StartStreamEncryption" and c.params["KeyId"] == KEY_ARN for c in admin)
    del calls[:]

    config = ProducerConfig(stream_name=names.stream, kinesis_client=local_aws.client("kinesis"), spool_dir=tmp_path)
    with Producer(config) as producer:
        producer.put(make_event()).result(30)
    producer_calls = list(calls)
    del calls[:]

    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    records = [kcl_record(encode_event(make_event())) for _ in range(3)] + [kcl_record(b"not an event")]
    processor_config = ProcessorConfig(
        names=names, aws=AwsSettings(region=local_aws.region, endpoint_url=local_aws.endpoint_url)
    )
    for _ in range(2):  # the replay reads back what the first run stored: GetObject of SSE-KMS objects
        processor = build_processor(processor_config)
        processor.initialize(initialize_input())
        checkpointer = FakeCheckpointer()
        processor.process_records(process_input(records, checkpointer))
        processor.shutdown_requested(
            with_checkpointer(messages.ShutdownRequestedInput, "shutdownRequested", checkpointer)
        )
    assert exits == []
    worker_calls = list(calls)
    puts = [c for c in worker_calls if c.operation == "PutObject" and c.response]
    assert puts and all(c.response and c.response["SSEKMSKeyId"] == KEY_ARN for c in puts)  # moto reports SSE-KMS

    encrypted = {names.stream}
    derived = {
        "admin": kms_calls(admin, encrypted),
        "producer": kms_calls(producer_calls, encrypted),
        "worker": kms_calls(worker_calls, encrypted, kcl_reads=True),
    }
    assert {c.operation for c in derived["producer"]} == {"GenerateDataKey"}
    assert {(c.operation, c.params["ViaService"]) for c in derived["worker"]} == {
        ("GenerateDataKey", "s3"),
        ("Decrypt", "s3"),
        ("Decrypt", "kinesis"),
    }
    for role, role_calls in (("admin", admin), ("producer", producer_calls), ("worker", worker_calls)):
        check(role, names, local_aws, [*role_calls, *derived[role]], kms_key_arns=(KEY_ARN,))
        without_key = policy_for(role, names, region=local_aws.region, account=ACCOUNT)
        assert not any(allowed(without_key, c, local_aws.region) for c in derived[role]), role
        elsewhere = [Call("kms", c.operation, {**c.params, "ViaService": "ec2"}) for c in derived[role]]
        with_key = policy_for(role, names, region=local_aws.region, account=ACCOUNT, kms_key_arns=(KEY_ARN,))
        assert not any(allowed(with_key, c, local_aws.region) for c in elsewhere), role


def test_the_worker_may_only_create_archive_objects(names: PipelineNames) -> None:
    """PutObject without If-None-Match (an overwrite) is refused by the worker's policy."""
    policy = policy_for("worker", names, region="us-east-1", account=ACCOUNT)
    key = {"Bucket": names.bucket, "Key": "events/dt=2025-12-23/hour=00/x.avro"}
    assert allowed(policy, Call("s3", "PutObject", {**key, "IfNoneMatch": "*"}), "us-east-1")
    assert not allowed(policy, Call("s3", "PutObject", key), "us-east-1")


def test_partiql_writes_are_checked_per_statement(names: PipelineNames) -> None:
    """The worker may write the kid table with PartiQL INSERT and UPDATE (BatchExecuteStatement)."""
    statements = [
        {"Statement": f"INSERT INTO \"{names.table}\" VALUE {{'kid_id': ?}}"},
        {"Statement": f'UPDATE "{names.table}" SET behaviour = ? WHERE kid_id = ?'},
    ]
    found = partiql_calls("dynamodb", "BatchExecuteStatement", {"Statements": statements})
    assert [c.operation for c in found] == ["PartiQLInsert", "PartiQLUpdate"]
    policy = policy_for("worker", names, region="us-east-1", account=ACCOUNT)
    assert all(allowed(policy, c, "us-east-1") for c in found)
    assert not allowed(policy, Call("dynamodb", "PartiQLDelete", {"TableName": names.table}), "us-east-1")


def test_the_admin_policy_allows_the_dead_letter_tools(
    local_aws: LocalAWS,  # noqa: F811
    names: PipelineNames,
    calls: list[Call],
) -> None:
    """list, show and redrive as admin; the redrive's markers are create-only."""
    from consumer.archive import dead_letter_files
    from consumer.records import KinesisRecord, Undecodable

    _provision(local_aws, names, shards=1)
    record = KinesisRecord("shardId-000000000000", "4900", 0, "pk", 1_766_448_000_000, b"not an event")
    [letter] = dead_letter_files([Undecodable(record, "NotSingleObjectError: test")], failed_at_ms=1_766_448_000_100)
    local_aws.client("s3").put_object(Bucket=names.bucket, Key=letter.key, Body=letter.body)
    del calls[:]
    common = ["--bucket", names.bucket, "--endpoint", local_aws.endpoint_url]
    assert main(["dead-letters", "list", *common]) == 0
    assert main(["dead-letters", "show", letter.key, *common]) == 0
    assert main(["dead-letters", "redrive", "--all", "--stream", names.stream, *common]) == 0
    seen = check("admin", names, local_aws, calls)
    assert {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "kinesis:PutRecords"} <= seen
    policy = policy_for("admin", names, region="us-east-1", account=ACCOUNT)
    marker = {"Bucket": names.bucket, "Key": "dead-letter-redrive/claimed/dt=2025-12-23/hour=00/x.json"}
    assert allowed(policy, Call("s3", "PutObject", {**marker, "IfNoneMatch": "*"}), "us-east-1")
    assert not allowed(policy, Call("s3", "PutObject", marker), "us-east-1")
    dead_letter = {"Bucket": names.bucket, "Key": letter.key, "IfNoneMatch": "*"}
    assert not allowed(policy, Call("s3", "PutObject", dead_letter), "us-east-1")
