"""Create the pipeline's stream, kid table and archive bucket, idempotently.

``provision(aws, names, shards)`` works the same against the embedded stack, LocalStack or AWS:
endpoints come from :class:`foundation.settings.AwsSettings` (``--endpoint`` or the standard
``AWS_ENDPOINT_URL[_<SERVICE>]`` variables). Each resource is created only when missing, then
waited for (ACTIVE / exists) with a deadline; a second run changes nothing and says so. A stream
that exists with another shard count is reported and left alone: ``nicelist reshard`` changes it.

- stream: provisioned mode, ``shards`` shards; server-side encryption with KMS (the AWS managed
  key ``alias/aws/kinesis`` unless another key is given; opt out with ``stream_encryption=False``);
- table: hash key ``kid_id`` (S), on-demand (PAY_PER_REQUEST); DynamoDB encrypts at rest always;
  point-in-time recovery and deletion protection on (each can be opted out of); a warm write
  throughput when asked (``warm_write_units``: the peak ``nicelist reshard plan`` prints);
- the autoscaler's lock table ``<application>-autoscale-lock``: hash key ``stream`` (S), on-demand
  (one lease item per stream: one autoscaler at a time, see ``admin.autoscale``);
- bucket: default encryption (SSE-S3 AES256 unless a KMS key is given), all four public access
  blocks on, versioning on (opt-out), and a bucket policy that denies every request not sent over
  TLS (``aws:SecureTransport`` false), merged into any policy the bucket already has. Against a
  plain-HTTP endpoint (the embedded stack, LocalStack) that policy would lock everyone out (moto
  enforces it), so there it is skipped and a note says so.

Settings are applied to resources that already exist too, except that an opt-out never turns a
protection off (it only skips turning it on) and a stream encrypted with another key is left as
it is (a note says so).

Errors::

    ProvisionError
    ├── ResourceConflictError   a resource exists but cannot be ours (other key schema, bucket owned elsewhere)
    └── ProvisionTimeoutError   a resource did not become ACTIVE / visible before the deadline
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from admin.autoscale import LOCK_KEY, lock_table_name
from foundation.aws_errors import error_code
from foundation.polling import PollTimeout, wait_until
from foundation.settings import AwsSettings, PipelineNames

logger = logging.getLogger(__name__)

KID_TABLE_HASH_KEY = "kid_id"
#: the AWS managed key for Kinesis: no key policy to write, no IAM permission needed to use it
DEFAULT_STREAM_KMS_KEY = "alias/aws/kinesis"
#: the statement of the bucket policy that refuses plain HTTP
TLS_ONLY_SID = "DenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


class ProvisionError(Exception):
    """Root of the provisioning errors."""


class ResourceConflictError(ProvisionError):
    """A resource of that name exists but is not usable as ours; not retryable."""


class ProvisionTimeoutError(ProvisionError):
    """A resource was not ready before the deadline; running again resumes the wait."""


@dataclass(frozen=True, kw_only=True)
class ProvisionConfig:
    """How provisioning waits and encrypts."""

    #: longest wait for each resource to become ACTIVE / visible
    timeout_s: float = 300.0
    poll_interval_s: float = 1.0
    #: S3 default encryption: None for SSE-S3 (AES256), else a KMS key id/ARN/alias (SSE-KMS)
    bucket_kms_key_id: str | None = None
    #: Kinesis server-side encryption with ``stream_kms_key_id``
    stream_encryption: bool = True
    stream_kms_key_id: str = DEFAULT_STREAM_KMS_KEY
    #: S3 versioning on the archive bucket (a deleted or damaged archive object can be restored)
    bucket_versioning: bool = True
    #: DynamoDB point-in-time recovery (35 days of restores) on the kid table
    point_in_time_recovery: bool = True
    #: DynamoDB deletion protection on the kid table
    deletion_protection: bool = True
    #: the kid table's warm write throughput (WarmThroughput.WriteUnitsPerSecond: write units/s it
    #: serves at once, e.g. the figure ``nicelist reshard plan`` prints for the peak); None: DynamoDB's
    #: default. Raised on an existing table when lower, never lowered.
    warm_write_units: int | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be positive")
        if self.bucket_kms_key_id == "":
            raise ValueError("bucket_kms_key_id must be None or a key id")
        if not self.stream_kms_key_id:
            raise ValueError("stream_kms_key_id must be a key id, ARN or alias")
        if self.warm_write_units is not None and self.warm_write_units < 1:
            raise ValueError("warm_write_units must be positive")

    @classmethod
    def from_env(cls, environ: Any = None) -> ProvisionConfig:
        """No variables of its own: the defaults, overridden by CLI flags."""
        return cls()


@dataclass
class ProvisionReport:
    """What provisioning did: one line per action, and whether anything changed."""

    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def did(self, message: str) -> None:
        logger.info("%s", message)
        self.actions.append(message)

    def note(self, message: str) -> None:
        logger.info("%s", message)
        self.notes.append(message)


def provision(
    aws: AwsSettings,
    names: PipelineNames,
    shards: int,
    *,
    config: ProvisionConfig | None = None,
    clients: Callable[[str], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProvisionReport:
    """Create whatever of stream, table and bucket is missing and wait until all are usable.

    ``clients`` makes a boto3 client for a service name (``aws.client`` by default).
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    config = config or ProvisionConfig()
    make = clients or aws.client
    report = ProvisionReport()
    waiter = _Waiter(config, clock, sleep)
    kinesis = make("kinesis")
    ensure_stream(kinesis, names.stream, shards, report, waiter)
    if config.stream_encryption:
        ensure_stream_encryption(kinesis, names.stream, config.stream_kms_key_id, report, waiter)
    dynamodb = make("dynamodb")
    ensure_table(
        dynamodb,
        names.table,
        report,
        waiter,
        deletion_protection=config.deletion_protection,
        warm_write_units=config.warm_write_units,
    )
    if config.warm_write_units is not None:
        ensure_table_warm_throughput(dynamodb, names.table, config.warm_write_units, report, waiter)
    ensure_table_protection(
        dynamodb,
        names.table,
        report,
        point_in_time_recovery=config.point_in_time_recovery,
        deletion_protection=config.deletion_protection,
    )
    ensure_lock_table(dynamodb, lock_table_name(names.application), report, waiter)
    s3 = make("s3")
    ensure_bucket(s3, names.bucket, aws.region, report, waiter, kms_key_id=config.bucket_kms_key_id)
    if config.bucket_versioning:
        ensure_bucket_versioning(s3, names.bucket, report)
    endpoint = aws.endpoint_for("s3")
    if endpoint is None or endpoint.lower().startswith("https://"):
        ensure_tls_only(s3, names.bucket, report)
    else:
        report.note(f"bucket {names.bucket}: no TLS-only policy, the endpoint {endpoint} is plain HTTP")
    if not report.changed:
        report.note("nothing created or changed: stream, table and bucket already exist")
    return report


# -- the stream ----------------------------------------------------------------------------------
def ensure_stream(kinesis: Any, name: str, shards: int, report: ProvisionReport, waiter: _Waiter) -> None:
    summary = _stream_summary(kinesis, name)
    if summary is None:
        try:
            kinesis.create_stream(StreamName=name, ShardCount=shards, StreamModeDetails={"StreamMode": "PROVISIONED"})
            report.did(f"created stream {name} with {shards} shards")
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":  # created by someone else meanwhile
                raise ProvisionError(f"cannot create stream {name}: {exc}") from exc
    summary = waiter.until(f"stream {name} ACTIVE", lambda: _active_stream(kinesis, name))
    open_shards = summary.get("OpenShardCount")
    if open_shards is not None and open_shards != shards:
        report.note(
            f"stream {name} exists with {open_shards} open shards, not {shards}; left as is "
            "(change it with: nicelist reshard scale)"
        )


def _stream_summary(kinesis: Any, name: str) -> dict[str, Any] | None:
    try:
        summary: dict[str, Any] = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        return summary
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise ProvisionError(f"cannot describe stream {name}: {exc}") from exc


def _active_stream(kinesis: Any, name: str) -> dict[str, Any] | None:
    summary = _stream_summary(kinesis, name)
    if summary is not None and summary.get("StreamStatus") == "ACTIVE":
        return summary
    if summary is not None and summary.get("StreamStatus") == "DELETING":
        raise ResourceConflictError(f"stream {name} is being deleted; run again once it is gone")
    return None


def ensure_stream_encryption(kinesis: Any, name: str, key_id: str, report: ProvisionReport, waiter: _Waiter) -> None:
    """Server-side encryption with ``key_id`` on; a stream encrypted with another key is left alone."""
    summary = waiter.until(f"stream {name} ACTIVE", lambda: _active_stream(kinesis, name))
    if summary.get("EncryptionType") == "KMS":
        if summary.get("KeyId") not in (key_id, None):
            report.note(f"stream {name} is encrypted with KMS key {summary.get('KeyId')}, not {key_id}; left as is")
        return
    try:
        kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key_id)
    except ClientError as exc:
        raise ProvisionError(f"cannot turn on encryption of stream {name} with {key_id}: {exc}") from exc
    report.did(f"stream {name}: server-side encryption with KMS key {key_id}")
    waiter.until(f"stream {name} ACTIVE after encryption", lambda: _active_stream(kinesis, name))


# -- the table -----------------------------------------------------------------------------------
def ensure_table(
    dynamodb: Any,
    name: str,
    report: ProvisionReport,
    waiter: _Waiter,
    *,
    deletion_protection: bool = True,
    warm_write_units: int | None = None,
) -> None:
    table = _describe_table(dynamodb, name)
    if table is None:
        warm = {} if warm_write_units is None else {"WarmThroughput": {"WriteUnitsPerSecond": warm_write_units}}
        try:
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": KID_TABLE_HASH_KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": KID_TABLE_HASH_KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                DeletionProtectionEnabled=deletion_protection,
                **warm,
            )
            protected = ", deletion protection" if deletion_protection else ""
            warmed = "" if warm_write_units is None else f", warm throughput {warm_write_units:,} write units/s"
            report.did(f"created table {name} (hash key {KID_TABLE_HASH_KEY} S, on-demand{protected}{warmed})")
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise ProvisionError(f"cannot create table {name}: {exc}") from exc
    table = waiter.until(f"table {name} ACTIVE", lambda: _active_table(dynamodb, name))
    _check_table_schema(name, table, report)


def ensure_lock_table(dynamodb: Any, name: str, report: ProvisionReport, waiter: _Waiter) -> None:
    """The autoscaler's lock table (one small item per stream; nothing to protect or restore)."""
    if _describe_table(dynamodb, name) is None:
        try:
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            report.did(f"created table {name} (the autoscaler's lock: hash key {LOCK_KEY} S, on-demand)")
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise ProvisionError(f"cannot create table {name}: {exc}") from exc
    waiter.until(f"table {name} ACTIVE", lambda: _active_table(dynamodb, name))


def ensure_table_warm_throughput(
    dynamodb: Any, name: str, write_units: int, report: ProvisionReport, waiter: _Waiter
) -> None:
    """The table serves at least ``write_units`` write units/s at once (WarmThroughput; it can only
    be raised: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html)."""
    table = _describe_table(dynamodb, name) or {}
    current = int((table.get("WarmThroughput") or {}).get("WriteUnitsPerSecond") or 0)
    if current >= write_units:
        return
    try:
        dynamodb.update_table(TableName=name, WarmThroughput={"WriteUnitsPerSecond": write_units})
    except ClientError as exc:
        raise ProvisionError(f"cannot raise the warm write throughput of table {name}: {exc}") from exc
    report.did(f"table {name}: warm write throughput {current:,} -> {write_units:,} write units/s")
    waiter.until(f"table {name} ACTIVE", lambda: _active_table(dynamodb, name))


def ensure_table_protection(
    dynamodb: Any, name: str, report: ProvisionReport, *, point_in_time_recovery: bool, deletion_protection: bool
) -> None:
    """Point-in-time recovery and deletion protection on, as asked (never turned off here)."""
    table = _describe_table(dynamodb, name) or {}
    if deletion_protection and not table.get("DeletionProtectionEnabled", False):
        try:
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=True)
        except ClientError as exc:
            raise ProvisionError(f"cannot turn on deletion protection of table {name}: {exc}") from exc
        report.did(f"table {name}: deletion protection on")
    if not point_in_time_recovery:
        return
    try:
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if status != "ENABLED":
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            report.did(f"table {name}: point-in-time recovery on")
    except ClientError as exc:
        # ContinuousBackupsUnavailableException: the table is new and backups are not ready yet
        raise ProvisionError(f"cannot turn on point-in-time recovery of table {name}: {exc}") from exc


def _describe_table(dynamodb: Any, name: str) -> dict[str, Any] | None:
    try:
        table: dict[str, Any] = dynamodb.describe_table(TableName=name)["Table"]
        return table
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise ProvisionError(f"cannot describe table {name}: {exc}") from exc


def _active_table(dynamodb: Any, name: str) -> dict[str, Any] | None:
    table = _describe_table(dynamodb, name)
    return table if table is not None and table.get("TableStatus") == "ACTIVE" else None


def _check_table_schema(name: str, table: dict[str, Any], report: ProvisionReport) -> None:
    keys = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    if keys != [(KID_TABLE_HASH_KEY, "HASH")] or types.get(KID_TABLE_HASH_KEY) != "S":
        raise ResourceConflictError(
            f"table {name} exists with key schema {keys} {types}; nicelist needs hash key {KID_TABLE_HASH_KEY} (S)"
        )
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        report.note(f"table {name} is {billing}, not on-demand; left as is")


# -- the bucket ----------------------------------------------------------------------------------
def ensure_bucket(
    s3: Any, name: str, region: str, report: ProvisionReport, waiter: _Waiter, *, kms_key_id: str | None = None
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


# -- helpers -------------------------------------------------------------------------------------
class _Waiter:
    """Polls a probe until it returns something, or raises ProvisionTimeoutError at the deadline."""

    def __init__(self, config: ProvisionConfig, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._config = config
        self._clock = clock
        self._sleep = sleep

    def until(self, what: str, probe: Callable[[], Any]) -> Any:
        def ready() -> tuple[Any] | None:
            result = probe()
            if result is None:
                logger.debug("waiting for %s", what)
                return None
            return (result,)

        try:
            (result,) = wait_until(
                ready,
                timeout_s=self._config.timeout_s,
                what=what,
                poll_s=self._config.poll_interval_s,
                clock=self._clock,
                sleep=self._sleep,
            )
        except PollTimeout as exc:
            raise ProvisionTimeoutError(f"{what}: not ready after {self._config.timeout_s:.0f} s") from exc
        return result
