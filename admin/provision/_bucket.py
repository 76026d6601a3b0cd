"""The archive bucket: default encryption, public access blocked, versioning, a TLS-only policy."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from foundation.aws_errors import error_code

from ._base import ProvisionError, ProvisionReport, ResourceConflictError, Waiter

#: the statement of the bucket policy that refuses plain HTTP
TLS_ONLY_SID = "DenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def ensure_bucket(
    s3: Any, name: str, region: str, report: ProvisionReport, waiter: Waiter, *, kms_key_id: str | None = None
) -> None:
    if not _bucket_exists(s3, name):
        arguments: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**arguments)
            report.did(f"created bucket {name}")
        except ClientError as exc:
            if error_code(exc) == "BucketAlreadyExists":
                raise ResourceConflictError(f"bucket name {name} is taken by another account") from exc
            if error_code(exc) != "BucketAlreadyOwnedByYou":
                raise ProvisionError(f"cannot create bucket {name}: {exc}") from exc
        waiter.until(f"bucket {name} exists", lambda: _bucket_exists(s3, name) or None)

    wanted_rule: dict[str, Any] = {"SSEAlgorithm": "AES256"}
    if kms_key_id is not None:
        wanted_rule = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_id}
    if _bucket_encryption(s3, name) != wanted_rule:
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": wanted_rule}
        if kms_key_id is not None:
            rule["BucketKeyEnabled"] = True
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
        report.did(f"bucket {name}: default encryption {wanted_rule['SSEAlgorithm']}")
    if _public_access_block(s3, name) != PUBLIC_ACCESS_BLOCK:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK))
        report.did(f"bucket {name}: public access blocked")


def ensure_bucket_versioning(s3: Any, name: str, report: ProvisionReport) -> None:
    try:
        status = s3.get_bucket_versioning(Bucket=name).get("Status")
        if status != "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            report.did(f"bucket {name}: versioning on")
    except ClientError as exc:
        raise ProvisionError(f"cannot turn on versioning of bucket {name}: {exc}") from exc


def tls_only_statement(bucket: str) -> dict[str, Any]:
    """Deny every request to the bucket and its objects that did not come over TLS."""
    return {
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def ensure_tls_only(s3: Any, name: str, report: ProvisionReport) -> None:
    """The bucket policy holds :func:`tls_only_statement`, added to any statements already there."""
    try:
        text = s3.get_bucket_policy(Bucket=name)["Policy"]
        policy: dict[str, Any] = json.loads(text)
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucketPolicy":
            raise ProvisionError(f"cannot read the policy of bucket {name}: {exc}") from exc
        policy = {"Version": "2012-10-17", "Statement": []}
    statements = policy.setdefault("Statement", [])
    if isinstance(statements, dict):
        statements = policy["Statement"] = [statements]
    wanted = tls_only_statement(name)
    if wanted in statements:
        return
    statements[:] = [s for s in statements if s.get("Sid") != TLS_ONLY_SID] + [wanted]
    try:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    except ClientError as exc:
        raise ProvisionError(f"cannot set the policy of bucket {name}: {exc}") from exc
    report.did(f"bucket {name}: policy denies requests without TLS")


def _bucket_exists(s3: Any, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return True
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied"):
            raise ResourceConflictError(
                f"bucket {name} exists but is not accessible (owned by another account?)"
            ) from exc
        raise ProvisionError(f"cannot check bucket {name}: {exc}") from exc


def _bucket_encryption(s3: Any, name: str) -> dict[str, Any] | None:
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as exc:
        if error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise ProvisionError(f"cannot read encryption of bucket {name}: {exc}") from exc
    default: dict[str, Any] | None = rules[0].get("ApplyServerSideEncryptionByDefault") if rules else None
    return default


def _public_access_block(s3: Any, name: str) -> dict[str, Any] | None:
    try:
        block: dict[str, Any] = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        return block
    except ClientError as exc:
        if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise ProvisionError(f"cannot read public access block of bucket {name}: {exc}") from exc
