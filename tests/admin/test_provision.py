"""admin.provision and ``nicelist provision`` on the embedded stack (and a fake clock for the waits)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from admin.provision import (
    PUBLIC_ACCESS_BLOCK,
    TLS_ONLY_SID,
    ProvisionConfig,
    ProvisionReport,
    ProvisionTimeoutError,
    ResourceConflictError,
    ensure_tls_only,
    provision,
)
from foundation.settings import AwsSettings, PipelineNames
from localaws import LocalAWS
from nicelist.cli import main
from tests.stack import aws_client, local_aws, unique_name  # noqa: F401  (shared with the tests.stack plugin)


def _names() -> PipelineNames:
    prefix = unique_name("prov")
    return PipelineNames(stream=prefix, table=f"{prefix}-t", bucket=f"{prefix}-b", application=f"{prefix}-app")


def _settings(stack: LocalAWS) -> AwsSettings:
    return AwsSettings(region=stack.region, endpoint_url=stack.endpoint_url)


def test_first_run_creates_everything_as_required(local_aws: LocalAWS) -> None:  # noqa: F811
    names = _names()
    report = provision(_settings(local_aws), names, 3)
    assert report.changed and len(report.actions) == 9
    lock = local_aws.client("dynamodb").describe_table(TableName=f"{names.application}-autoscale-lock")["Table"]
    assert lock["KeySchema"] == [{"AttributeName": "stream", "KeyType": "HASH"}]
    assert report.notes == [
        f"bucket {names.bucket}: no TLS-only policy, the endpoint {local_aws.endpoint_url} is plain HTTP"
    ]

    stream = local_aws.client("kinesis").describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert (stream["StreamStatus"], stream["OpenShardCount"]) == ("ACTIVE", 3)
    assert stream["StreamModeDetails"]["StreamMode"] == "PROVISIONED"
    table = local_aws.client("dynamodb").describe_table(TableName=names.table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "kid_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "kid_id", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    s3 = local_aws.client("s3")
    rules = s3.get_bucket_encryption(Bucket=names.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert s3.get_public_access_block(Bucket=names.bucket)["PublicAccessBlockConfiguration"] == PUBLIC_ACCESS_BLOCK
    _assert_hardened(local_aws, names, stream_key="alias/aws/kinesis", tls_only=False)


def _assert_hardened(stack: LocalAWS, names: PipelineNames, *, stream_key: str, tls_only: bool) -> None:
    """Stream encrypted with ``stream_key``, table with PITR and deletion protection, bucket
    versioned (with a TLS-only policy if ``tls_only``); moto keeps these settings."""
    stream = stack.client("kinesis").describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert (stream["EncryptionType"], stream["KeyId"]) == ("KMS", stream_key)
    dynamodb = stack.client("dynamodb")
    assert dynamodb.describe_table(TableName=names.table)["Table"]["DeletionProtectionEnabled"] is True
    backups = dynamodb.describe_continuous_backups(TableName=names.table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    s3 = stack.client("s3")
    assert s3.get_bucket_versioning(Bucket=names.bucket)["Status"] == "Enabled"
    if not tls_only:
        with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
            s3.get_bucket_policy(Bucket=names.bucket)
        return
    policy = json.loads(s3.get_bucket_policy(Bucket=names.bucket)["Policy"])
    [deny] = [st for st in policy["Statement"] if st["Sid"] == TLS_ONLY_SID]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == [f"arn:aws:s3:::{names.bucket}", f"arn:aws:s3:::{names.bucket}/*"]


def test_opt_outs_leave_those_protections_off(local_aws: LocalAWS) -> None:  # noqa: F811
    names = _names()
    config = ProvisionConfig(
        stream_encryption=False, bucket_versioning=False, point_in_time_recovery=False, deletion_protection=False
    )
    report = provision(_settings(local_aws), names, 1, config=config)
    assert len(report.actions) == 6  # stream, table, lock table, bucket and its two settings
    stream = local_aws.client("kinesis").describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert stream["EncryptionType"] == "NONE"
    dynamodb = local_aws.client("dynamodb")
    assert not dynamodb.describe_table(TableName=names.table)["Table"].get("DeletionProtectionEnabled")
    backups = dynamodb.describe_continuous_backups(TableName=names.table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    assert "Status" not in local_aws.client("s3").get_bucket_versioning(Bucket=names.bucket)

    # a later run with the defaults hardens what exists, once
    hardened = provision(_settings(local_aws), names, 1, config=ProvisionConfig(stream_kms_key_id="alias/nicelist"))
    assert len(hardened.actions) == 4, hardened.actions
    _assert_hardened(local_aws, names, stream_key="alias/nicelist", tls_only=False)
    assert not provision(
        _settings(local_aws), names, 1, config=ProvisionConfig(stream_kms_key_id="alias/nicelist")
    ).changed


def test_the_tls_only_policy_joins_an_existing_one_and_refuses_plain_http(local_aws: LocalAWS) -> None:  # noqa: F811
    """Where the endpoint is TLS (AWS) the bucket gets the TLS-only statement, merged into its
    policy; moto enforces bucket policies, so over the stack's plain HTTP an upload is refused."""
    names = _names()
    provision(_settings(local_aws), names, 1)
    s3 = local_aws.client("s3")
    mine = {
        "Sid": "AnalyticsReads",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{names.bucket}/events/*",
    }
    s3.put_bucket_policy(Bucket=names.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [mine]}))
    report = ProvisionReport()
    ensure_tls_only(s3, names.bucket, report)
    assert report.actions == [f"bucket {names.bucket}: policy denies requests without TLS"]
    _assert_hardened(local_aws, names, stream_key="alias/aws/kinesis", tls_only=True)
    statements = json.loads(s3.get_bucket_policy(Bucket=names.bucket)["Policy"])["Statement"]
    assert [st["Sid"] for st in statements] == ["AnalyticsReads", TLS_ONLY_SID] and statements[0] == mine
    again = ProvisionReport()
    ensure_tls_only(s3, names.bucket, again)
    assert not again.changed
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=names.bucket, Key="events/x.avro", Body=b"x")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_stream_encrypted_with_another_key_is_left_alone(local_aws: LocalAWS) -> None:  # noqa: F811
    names = _names()
    provision(_settings(local_aws), names, 1, config=ProvisionConfig(stream_kms_key_id="alias/theirs"))
    report = provision(_settings(local_aws), names, 1)
    assert not report.changed and any("alias/theirs, not alias/aws/kinesis" in note for note in report.notes)


def test_a_second_run_changes_nothing_and_a_different_shard_count_is_left_alone(local_aws: LocalAWS) -> None:  # noqa: F811
    names = _names()
    provision(_settings(local_aws), names, 2)
    again = provision(_settings(local_aws), names, 2)
    assert not again.changed and again.notes[-1] == "nothing created or changed: stream, table and bucket already exist"

    other = provision(_settings(local_aws), names, 5)
    assert not other.changed
    assert any("2 open shards, not 5" in note for note in other.notes)
    summary = local_aws.client("kinesis").describe_stream_summary(StreamName=names.stream)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2


def test_a_missing_bucket_setting_is_repaired(local_aws: LocalAWS) -> None:  # noqa: F811
    names = _names()
    provision(_settings(local_aws), names, 1)
    local_aws.client("s3").delete_public_access_block(Bucket=names.bucket)
    report = provision(_settings(local_aws), names, 1)
    assert report.actions == [f"bucket {names.bucket}: public access blocked"]


def test_a_table_with_another_key_is_a_conflict(local_aws: LocalAWS) -> None:  # noqa: F811
    names = _names()
    local_aws.client("dynamodb").create_table(
        TableName=names.table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ResourceConflictError, match="kid_id"):
        provision(_settings(local_aws), names, 1)


class _CreatingForever:
    """A Kinesis client whose new stream never leaves CREATING."""

    def describe_stream_summary(self, StreamName: str) -> dict[str, Any]:
        return {"StreamDescriptionSummary": {"StreamStatus": "CREATING", "OpenShardCount": 1}}


def test_a_stream_that_never_becomes_active_times_out_on_the_injected_clock() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    config = ProvisionConfig(timeout_s=10, poll_interval_s=2)
    with pytest.raises(ProvisionTimeoutError, match="stream .* ACTIVE"):
        provision(
            AwsSettings(),
            _names(),
            1,
            config=config,
            clients=lambda _: _CreatingForever(),
            clock=lambda: now[0],
            sleep=sleep,
        )
    assert sleeps == [2, 2, 2, 2, 2]


def test_the_command_reports_what_it_did(local_aws: LocalAWS, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    names = _names()
    argv = ["provision", "--endpoint", local_aws.endpoint_url, "--shards", "2"]
    argv += ["--stream", names.stream, "--table", names.table, "--bucket", names.bucket]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert f"created stream {names.stream} with 2 shards" in first and "public access blocked" in first
    assert "server-side encryption with KMS key alias/aws/kinesis" in first and "no TLS-only policy" in first
    assert main(argv) == 0
    assert "nothing created or changed" in capsys.readouterr().out


def test_the_warm_write_throughput_is_set_at_creation_and_raised_never_lowered(local_aws: LocalAWS) -> None:  # noqa: F811
    """The plan's figure for the peak (``nicelist reshard plan``) as the table's WarmThroughput."""
    names = _names()
    settings = _settings(local_aws)
    quick = {"deletion_protection": False, "point_in_time_recovery": False, "stream_encryption": False}
    report = provision(settings, names, 1, config=ProvisionConfig(warm_write_units=12_000, **quick))
    assert any("warm throughput 12,000 write units/s" in line for line in report.actions)
    dynamodb = local_aws.client("dynamodb")

    def warm() -> int:
        return int(dynamodb.describe_table(TableName=names.table)["Table"]["WarmThroughput"]["WriteUnitsPerSecond"])

    assert warm() == 12_000
    provision(settings, names, 1, config=ProvisionConfig(warm_write_units=8_000, **quick))
    assert warm() == 12_000
    raised = provision(settings, names, 1, config=ProvisionConfig(warm_write_units=30_000, **quick))
    assert f"table {names.table}: warm write throughput 12,000 -> 30,000 write units/s" in raised.actions
    assert warm() == 30_000
    with pytest.raises(ValueError, match="warm_write_units"):
        ProvisionConfig(warm_write_units=0)
