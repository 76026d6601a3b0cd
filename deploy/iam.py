"""The IAM policy documents shipped in ``deploy/iam_policies/`` and their rendering for other names.

The JSON files name the default resources (stream ``nicelist``, table ``nicelist-kids``, bucket
``nicelist-archive``, KCL application ``nicelist-worker``) in any region and account;
:func:`policy_for` rewrites them for the names and the account a deployment really uses, and
adds the KMS permissions a customer managed key needs (the AWS managed keys ``alias/aws/kinesis``
and ``aws/s3`` need none: their key policies let the account's principals use them through the
service). What each role asks KMS for, through Kinesis or S3 on its behalf
(https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html):

- producer: ``kms:GenerateDataKey`` (PutRecords on an encrypted stream);
- worker: ``kms:Decrypt`` (the KCL's GetRecords; GetObject of an SSE-KMS archive file) and
  ``kms:GenerateDataKey`` (PutObject into an SSE-KMS bucket);
- admin: both (StartStreamEncryption, reconcile's GetObject).

Each KMS statement holds only through those services (``kms:ViaService``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from foundation.errors import ConfigError
from foundation.settings import DEFAULT_APPLICATION, DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_TABLE, PipelineNames

ROLES = ("producer", "worker", "admin")
#: what each role asks KMS for when a stream or the bucket is encrypted with a customer managed key
KMS_ACTIONS = {
    "producer": ("kms:GenerateDataKey",),
    "worker": ("kms:Decrypt", "kms:GenerateDataKey"),
    "admin": ("kms:Decrypt", "kms:GenerateDataKey"),
}
#: the services that call KMS for each role
KMS_VIA = {"producer": ("kinesis",), "worker": ("kinesis", "s3"), "admin": ("kinesis", "s3")}
_KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key/[\w-]+$")


def load_policy(role: str) -> dict[str, Any]:
    """The shipped policy document of ``role`` (``producer``, ``worker`` or ``admin``)."""
    if role not in ROLES:
        raise ConfigError("role", f"one of {', '.join(ROLES)}, not {role!r}")
    text = resources.files("deploy").joinpath("iam_policies", f"{role}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def kms_statement(role: str, key_arns: Sequence[str], region: str = "*") -> dict[str, Any]:
    """The statement letting ``role`` use customer managed keys through its services only."""
    for arn in key_arns:
        if not _KEY_ARN.fullmatch(arn):
            raise ConfigError("kms key", f"must be a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not {arn!r}")
    via = [f"{service}.{region}.amazonaws.com" for service in KMS_VIA[role]]
    return {
        "Sid": "UseTheCustomerManagedKeyThroughKinesisAndS3",
        "Effect": "Allow",
        "Action": list(KMS_ACTIONS[role]),
        "Resource": list(key_arns),
        "Condition": {"StringLike": {"kms:ViaService": via}},
    }


def policy_for(
    role: str,
    names: PipelineNames,
    *,
    region: str = "*",
    account: str = "*",
    kms_key_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """The policy of ``role`` for these resource names, region and 12-digit account id; with the
    ARNs of the customer managed keys that encrypt the stream or the bucket, the KMS statement."""
    if account != "*" and not re.fullmatch(r"\d{12}", account):
        raise ConfigError("account", "must be a 12-digit AWS account id or *")
    text = json.dumps(load_policy(role))
    replacements = [
        (f'stream/{DEFAULT_STREAM}"', f'stream/{names.stream}"'),
        (f'table/{DEFAULT_TABLE}"', f'table/{names.table}"'),
        (f"table/{DEFAULT_APPLICATION}", f"table/{names.application}"),
        (f"alarm:{DEFAULT_APPLICATION}-", f"alarm:{names.application}-"),
        (f":{DEFAULT_APPLICATION}-alarms", f":{names.application}-alarms"),
        (f'"{DEFAULT_APPLICATION}"', f'"{names.application}"'),
        (f":::{DEFAULT_BUCKET}", f":::{names.bucket}"),
        (":*:*:", f":{region}:{account}:"),
    ]
    for old, new in replacements:
        text = text.replace(old, new)
    rendered: dict[str, Any] = json.loads(text)
    if kms_key_arns:
        rendered["Statement"].append(kms_statement(role, kms_key_arns, region))
    return rendered
