"""The shipped IAM policies: valid documents, and every AWS operation our code calls is allowed.

The operations are found by reading the code: every ``.<operation>(`` call, paginator and waiter
whose name is an operation of the services we use, per role's packages. The KCL's own calls
(Java, not greppable) are the list AWS documents for KCL consumer applications.
"""

from __future__ import annotations

import fnmatch
import re
from functools import cache
from pathlib import Path

import botocore.session
import pytest

from deploy import ROLES, load_policy, policy_for
from foundation.errors import ConfigError
from foundation.settings import PipelineNames

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("kinesis", "dynamodb", "s3", "cloudwatch", "sns")
#: which packages run under which role
ROLE_PACKAGES = {
    "producer": ("producer", "observability/_publisher.py"),
    "worker": ("consumer", "observability/_publisher.py"),
    "admin": (
        "admin",
        "reconcile",
        "analytics",
        "deploy",
        "nicelist/commands",
        "observability/_reader.py",
        "foundation/s3_reads.py",
    ),
}
#: the demo plays every part (elves, workers, operator): checked against the three policies together
#: the plain demo's calls (run_demo's phases and what they use); the December rehearsal's local
#: pager (SQS) is the embedded stack's, not a deployment's
DEMO = ("demo/_phases.py", "demo/_workers.py", "demo/_reshard.py", "demo/_metrics.py")
#: what the KCL itself calls (https://docs.aws.amazon.com/streams/latest/dev/kcl-iam-permissions.html, polling mode)
KCL_ACTIONS = {
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:UpdateTable",
    "dynamodb:Scan",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "cloudwatch:PutMetricData",
}
#: actions that take no resource ARN, so "Resource": "*" is the least privilege there is
NO_RESOURCE_LEVEL = {"kinesis:DescribeLimits", "cloudwatch:PutMetricData", "cloudwatch:GetMetricData"}
#: S3 operations whose IAM action has another name (Service Authorization Reference for S3)
S3_ACTIONS = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "DeleteObjects": "DeleteObject",
}
#: boto3 transfer helpers and the operations they call
TRANSFER = {"upload_fileobj": ("s3", "PutObject"), "upload_file": ("s3", "PutObject")}


@cache
def _operations() -> dict[str, set[tuple[str, str]]]:
    """snake_case method name -> {(service, OperationName)}, for waiters too."""
    session = botocore.session.get_session()
    found: dict[str, set[tuple[str, str]]] = {}
    for service in SERVICES:
        client = session.create_client(service, region_name="us-east-1")
        for method, operation in client.meta.method_to_api_mapping.items():
            found.setdefault(method, set()).add((service, operation))
        for waiter in client.waiter_names:
            found.setdefault(f"waiter:{waiter}", set()).add((service, client.get_waiter(waiter).config.operation))
    return found


#: PartiQL operations: IAM authorizes each statement by its verb, not the operation
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html)
PARTIQL_OPERATIONS = frozenset({"BatchExecuteStatement", "ExecuteStatement", "ExecuteTransaction"})
PARTIQL_ACTIONS = frozenset(
    {"dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLSelect", "dynamodb:PartiQLDelete"}
)


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The actions one of which a call of ``operation`` needs (a PartiQL call: its statements' verbs)."""
    if service == "dynamodb" and operation in PARTIQL_OPERATIONS:
        return tuple(sorted(PARTIQL_ACTIONS))
    return (iam_action(service, operation),)


def iam_action(service: str, operation: str) -> str:
    if service == "s3":
        return f"s3:{S3_ACTIONS.get(operation, operation)}"
    return f"{service}:{operation}"


def called_actions(packages: tuple[str, ...]) -> dict[frozenset[str], set[str]]:
    """The IAM actions a called method may need (several when services share a method name, e.g.
    ``describe_limits``: one of them must be allowed) -> the files calling it."""
    ops = _operations()
    calls: dict[frozenset[str], set[str]] = {}
    for package in packages:
        root = ROOT / package
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            if str(path.relative_to(ROOT)) in DEMO and package not in DEMO:
                continue
            text = path.read_text("utf-8")
            names = set(re.findall(r"\.(\w+)\(", text))
            names |= set(re.findall(r"get_paginator\(\s*[\"'](\w+)[\"']", text))
            names |= {f"waiter:{w}" for w in re.findall(r"get_waiter\(\s*[\"'](\w+)[\"']", text)}
            for name in names:
                targets = ops.get(name, set())
                if name in TRANSFER:
                    targets = {TRANSFER[name]}
                if targets:
                    actions = frozenset(a for service, operation in targets for a in iam_actions(service, operation))
                    calls.setdefault(actions, set()).add(str(path.relative_to(ROOT)))
    return calls


def called_action_names(packages: tuple[str, ...]) -> set[str]:
    return {action for actions in called_actions(packages) for action in actions}


def allowed_actions(document: dict[str, object]) -> set[str]:
    statements = document["Statement"]
    assert isinstance(statements, list)
    actions: set[str] = set()
    for statement in statements:
        if statement["Effect"] == "Allow":
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
    return actions


def is_allowed(action: str, allowed: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed)


@pytest.mark.parametrize("role", ROLES)
def test_policy_is_a_valid_least_privilege_document(role: str) -> None:
    document = load_policy(role)
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    for statement in document["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        assert actions and all(re.fullmatch(r"(kinesis|dynamodb|s3|cloudwatch|sns):[A-Z][A-Za-z]+", a) for a in actions)
        assert "*" not in "".join(actions), "no wildcard actions"
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource == "*" or resource.startswith("arn:aws:"), resource
            if resource == "*":  # only actions that have no resource-level permissions
                assert set(actions) <= {
                    "kinesis:DescribeLimits",
                    "cloudwatch:PutMetricData",
                    "cloudwatch:GetMetricData",
                }


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_our_code_calls_is_allowed(role: str) -> None:
    calls = called_actions(ROLE_PACKAGES[role])
    allowed = allowed_actions(load_policy(role))
    missing = {
        " or ".join(sorted(actions)): files
        for actions, files in calls.items()
        if not any(is_allowed(action, allowed) for action in actions)
    }
    assert not missing, f"{role} policy lacks actions the code calls: {missing}"


def test_the_three_policies_together_allow_what_the_demo_calls() -> None:
    allowed = set().union(*(allowed_actions(load_policy(role)) for role in ROLES))
    calls = called_actions(DEMO)
    assert calls, "the scan should find the demo's calls"
    missing = [actions for actions in calls if not any(is_allowed(a, allowed) for a in actions)]
    assert not missing


def test_the_worker_policy_allows_what_the_kcl_calls() -> None:
    allowed = allowed_actions(load_policy("worker"))
    assert {a for a in KCL_ACTIONS if not is_allowed(a, allowed)} == set()


def test_the_producer_can_only_put_records_and_its_opt_in_metrics() -> None:
    assert allowed_actions(load_policy("producer")) == {"kinesis:PutRecords", "cloudwatch:PutMetricData"}
    assert called_action_names(ROLE_PACKAGES["producer"]) <= {"kinesis:PutRecords", "cloudwatch:PutMetricData"}
    metrics = [s for s in load_policy("producer")["Statement"] if "cloudwatch:PutMetricData" in s["Action"]]
    assert [s["Condition"] for s in metrics] == [{"StringEquals": {"cloudwatch:namespace": "nicelist"}}]


def test_the_code_scan_finds_known_calls() -> None:
    """Guards the scan itself: it must see a call we know is there."""
    assert "s3:ListBucket" in called_action_names(("foundation/s3_reads.py",))  # list_objects_v2 there
    assert "dynamodb:Scan" in called_action_names(("reconcile",))


def test_policy_for_other_names_and_account() -> None:
    names = PipelineNames(stream="s2", table="t2", bucket="b2", application="app2")
    text = str(policy_for("worker", names, region="eu-west-1", account="123456789012"))
    assert "arn:aws:kinesis:eu-west-1:123456789012:stream/s2" in text
    assert "table/t2" in text and "table/app2-WorkerMetricStats" in text and "table/app2/index/*" in text
    assert "arn:aws:s3:::b2/events/*" in text and "'cloudwatch:namespace': 'app2'" in text
    assert "alarm:app2-*" in str(policy_for("admin", names)) and ":app2-alarms" in str(policy_for("admin", names))
    assert "nicelist" not in text.replace("'cloudwatch:namespace': 'nicelist'", "")  # the namespace is fixed
    with pytest.raises(ConfigError):
        policy_for("worker", names, account="me")
    with pytest.raises(ConfigError):
        load_policy("root")


def test_the_worker_has_no_dynamodb_call_it_never_makes_on_the_kid_table() -> None:
    """The processor reads the kid table's key schema once (DescribeTable) and writes it with
    conditional PutItem (or PartiQL INSERT/UPDATE in a BatchExecuteStatement); it never reads
    items, updates items in place or batch-writes."""
    kids = [
        s for s in load_policy("worker")["Statement"] if s["Resource"] == "arn:aws:dynamodb:*:*:table/nicelist-kids"
    ]
    assert [set(s["Action"]) for s in kids] == [
        {"dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"}
    ]
    called = {a for a in called_action_names(ROLE_PACKAGES["worker"]) if a.startswith("dynamodb:")}
    assert called <= {"dynamodb:DescribeTable", "dynamodb:PutItem"} | PARTIQL_ACTIONS


def test_the_worker_creates_archive_objects_only_with_if_none_match() -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html: the
    ``s3:if-none-match`` condition key; Null false means the request must carry the header."""
    [put] = [s for s in load_policy("worker")["Statement"] if "s3:PutObject" in s["Action"]]
    assert put["Condition"] == {"Null": {"s3:if-none-match": "false"}}


KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("role", "actions", "services"),
    [
        ("producer", {"kms:GenerateDataKey"}, ["kinesis.eu-west-1.amazonaws.com"]),
        (
            "worker",
            {"kms:Decrypt", "kms:GenerateDataKey"},
            ["kinesis.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"],
        ),
        (
            "admin",
            {"kms:Decrypt", "kms:GenerateDataKey"},
            ["kinesis.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"],
        ),
    ],
)
def test_a_customer_managed_key_adds_its_kms_statement(role: str, actions: set[str], services: list[str]) -> None:
    names = PipelineNames()
    assert not any(a.startswith("kms:") for a in allowed_actions(policy_for(role, names)))
    document = policy_for(role, names, region="eu-west-1", account="123456789012", kms_key_arns=[KEY])
    [kms] = [s for s in document["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    assert set(kms["Action"]) == actions and kms["Resource"] == [KEY]
    assert kms["Condition"] == {"StringLike": {"kms:ViaService": services}}


def test_a_kms_key_must_be_a_key_arn() -> None:
    for bad in ("alias/aws/kinesis", "1234abcd-12ab-34cd-56ef-1234567890ab", KEY + "\n"):
        with pytest.raises(ConfigError):
            policy_for("worker", PipelineNames(), kms_key_arns=[bad])
