"""``nicelist provision``: create the stream, the kid table and the archive bucket if missing."""

from __future__ import annotations

import argparse

from . import _types
from ._options import add_aws, add_names, aws_settings, pipeline_names

HELP = "create the stream, DynamoDB table and S3 bucket (idempotent; local stack or AWS)"
#: the bucket always gets a TLS-only policy and public access blocks: no flag turns them off


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shards", type=_types.shard_count, default=4, help="shards of a new stream (default %(default)s)"
    )
    add_names(parser, "stream", "table", "bucket", "application")  # application: the lock table's name
    add_aws(parser)
    parser.add_argument("--bucket-kms-key", help="SSE-KMS key for the bucket (default: SSE-S3, AES256)")
    parser.add_argument(
        "--kms-key",
        default="alias/aws/kinesis",
        help="KMS key (id, ARN or alias) for the stream's server-side encryption (default: %(default)s, "
        "the AWS managed key; a customer key needs kms:GenerateDataKey for producers and kms:Decrypt for "
        "workers: deploy.policy_for(role, names, kms_key_arn=...) adds them)",
    )
    parser.add_argument(
        "--no-stream-encryption",
        dest="stream_encryption",
        action="store_false",
        help="leave the stream unencrypted (saves the KMS calls; records are then stored in plain text)",
    )
    parser.add_argument(
        "--no-bucket-versioning",
        dest="bucket_versioning",
        action="store_false",
        help="do not turn on bucket versioning (archive objects are create-only; versions guard deletes)",
    )
    parser.add_argument(
        "--no-point-in-time-recovery",
        dest="point_in_time_recovery",
        action="store_false",
        help="do not turn on the table's point-in-time recovery (it costs per GB; the archive can rebuild the table)",
    )
    parser.add_argument(
        "--no-deletion-protection",
        dest="deletion_protection",
        action="store_false",
        help="create the table without deletion protection (test and throw-away stacks)",
    )
    parser.add_argument(
        "--warm-write-units",
        type=_types.positive_int,
        default=None,
        metavar="N",
        help="the kid table's warm write throughput, write units/s it serves at once (the figure "
        "`nicelist reshard plan` prints for the peak; raised, never lowered; default: DynamoDB's)",
    )
    parser.add_argument(
        "--timeout", type=_types.positive_float, default=300.0, metavar="SECONDS", help="longest wait for each resource"
    )


def run(args: argparse.Namespace) -> int:
    from admin.provision import ProvisionConfig, provision

    names = pipeline_names(args)
    aws = aws_settings(args)
    config = ProvisionConfig(
        timeout_s=args.timeout,
        bucket_kms_key_id=args.bucket_kms_key,
        stream_encryption=args.stream_encryption,
        stream_kms_key_id=args.kms_key,
        bucket_versioning=args.bucket_versioning,
        point_in_time_recovery=args.point_in_time_recovery,
        deletion_protection=args.deletion_protection,
        warm_write_units=args.warm_write_units,
    )
    where = aws.endpoint_for("kinesis") or f"AWS {aws.region}"
    report = provision(aws, names, args.shards, config=config)
    print(f"provisioning stream {names.stream}, table {names.table}, bucket {names.bucket} at {where}")
    for line in report.actions:
        print(f"  {line}")
    for line in report.notes:
        print(f"  {line}")
    return 0
