"""The CloudFormation template: lints clean with cfn-lint, declares what provision, the IAM JSON
and the alarm definitions say, and creates on the embedded stack (moto's CloudFormation, for the
resource types it supports: stream, table, bucket, topic, roles), after which provision finds
nothing to create. Alarms and stream encryption are not created by moto: checked by reading."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from cfnlint.api import lint_all

from admin.alarms import alarm_specs, topic_name
from deploy import ROLES, policy_for, template
from foundation.settings import PipelineNames
from localaws import LocalAWS
from nicelist.cli import main
from tests.polling import wait_until
from tests.stack import unique_name

NAMES = PipelineNames(stream="dec-stream", table="dec-kids", bucket="dec-archive", application="dec-app")


def _of_type(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in document["Resources"].values() if r["Type"] == kind]


def test_the_template_lints_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "--stream", "elves", "--bucket", "northpole-archive", "--application", "santa"]) == 0
    problems = [str(match) for match in lint_all(capsys.readouterr().out) if match.rule.id[0] in "EW"]
    assert problems == []
    assert main(["template", "--warm-write-units", "625000"]) == 0
    problems = [str(match) for match in lint_all(capsys.readouterr().out) if match.rule.id[0] in "EW"]
    assert problems == []  # errors and warnings; informational notes (e.g. arn:aws partitions) allowed


def test_the_template_declares_the_alarms_encryption_policies_and_tables() -> None:
    document = template(NAMES)
    stream = _of_type(document, "AWS::Kinesis::Stream")[0]["Properties"]
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in _of_type(document, "AWS::CloudWatch::Alarm")}
    for spec in alarm_specs(NAMES):
        wanted = spec.put_metric_alarm_args(None)
        declared = alarms.pop(spec.name)
        assert {k: v for k, v in declared.items() if "Actions" not in k} == {
            k: v for k, v in wanted.items() if "Actions" not in k
        }
        assert declared["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarms == {}
    roles = {r["Properties"]["RoleName"]: r["Properties"] for r in _of_type(document, "AWS::IAM::Role")}
    for role in ROLES:
        assert roles[f"dec-app-{role}"]["Policies"][0]["PolicyDocument"] == policy_for(role, NAMES)
    policy = _of_type(document, "AWS::S3::BucketPolicy")[0]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Effect"] == "Deny" and policy["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    tables = {t["Properties"]["TableInput"]["Name"] for t in _of_type(document, "AWS::Glue::Table")}
    assert tables == {"events", "dead_letters"}
    table = _of_type(document, "AWS::DynamoDB::Table")[0]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_template_creates_on_the_embedded_stack_and_provision_agrees(
    local_aws: LocalAWS, aws_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    names = PipelineNames(
        stream=unique_name("cf"),
        table=unique_name("cf-kids"),
        bucket=unique_name("cf-b"),
        application=unique_name("cfa"),
    )
    cloudformation = aws_client("cloudformation")
    stack_name = unique_name("nicelist")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template(names, shards=2)),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )

    def finished() -> dict[str, Any] | None:
        found: dict[str, Any] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        return None if found["StackStatus"].endswith("IN_PROGRESS") else found

    assert wait_until(finished, timeout_s=60, what="the stack")["StackStatus"] == "CREATE_COMPLETE"
    summary = aws_client("kinesis").describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    iam = aws_client("iam")
    for role in ROLES:
        document = iam.get_role_policy(RoleName=f"{names.application}-{role}", PolicyName=f"nicelist-{role}")
        stored = document["PolicyDocument"]  # moto answers with the dict's repr, AWS with JSON
        assert (ast.literal_eval(stored) if isinstance(stored, str) else stored) == policy_for(role, names)
    topics = [t["TopicArn"] for t in aws_client("sns").list_topics()["Topics"]]
    assert any(arn.endswith(f":{topic_name(names)}") for arn in topics)

    where = ["--endpoint", local_aws.endpoint_url, "--shards", "2"]
    capsys.readouterr()
    named = [
        "--stream",
        names.stream,
        "--table",
        names.table,
        "--bucket",
        names.bucket,
        "--application",
        names.application,
    ]
    assert main(["provision", *where, *named]) == 0
    created = [line for line in capsys.readouterr().out.splitlines() if "created" in line]
    assert created == [], f"provision created what the template should have: {created}"


def test_the_template_carries_the_alarm_that_pages_on_silence() -> None:
    alarms = [a["Properties"] for a in _of_type(template(NAMES), "AWS::CloudWatch::Alarm")]
    assert [a["MetricName"] for a in alarms if a["TreatMissingData"] == "breaching"] == ["WorkerHeartbeat"]
    assert any("Metrics" in a for a in alarms)  # records-unread, metric math


def test_the_kid_tables_warm_write_throughput_is_a_parameter() -> None:
    """``nicelist reshard plan`` prints the figure; 0 (the default) leaves DynamoDB's default."""
    document = template(NAMES, warm_write_units=625_000)
    assert document["Parameters"]["WarmWriteUnits"]["Default"] == 625_000
    warm = _of_type(document, "AWS::DynamoDB::Table")[0]["Properties"]["WarmThroughput"]
    assert warm == {
        "Fn::If": ["HasWarmWriteUnits", {"WriteUnitsPerSecond": {"Ref": "WarmWriteUnits"}}, {"Ref": "AWS::NoValue"}]
    }
    assert template(NAMES)["Parameters"]["WarmWriteUnits"]["Default"] == 0
