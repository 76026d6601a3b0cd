"""``provision()``: every resource of the pipeline, in order, each step from its own module."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from admin.autoscale import lock_table_name
from foundation.settings import AwsSettings, PipelineNames

from ._base import ProvisionConfig, ProvisionReport, Waiter
from ._bucket import ensure_bucket, ensure_bucket_versioning, ensure_tls_only
from ._stream import ensure_stream, ensure_stream_encryption
from ._table import ensure_lock_table, ensure_table, ensure_table_protection, ensure_table_warm_throughput


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
    waiter = Waiter(config, clock, sleep)
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
