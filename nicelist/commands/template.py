"""``nicelist template``: the CloudFormation template of a deployment (JSON, which CloudFormation reads)."""

from __future__ import annotations

import argparse
import json

HELP = "print the CloudFormation template: stream, table, bucket, IAM roles, alarms, topic, Athena tables"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", type=int, default=4, help="default of the ShardCount parameter (%(default)s)")
    parser.add_argument("--stream", help="stream name (default: $NICELIST_STREAM, else nicelist)")
    parser.add_argument("--table", help="DynamoDB table (default: $NICELIST_TABLE, else nicelist-kids)")
    parser.add_argument("--bucket", help="S3 bucket (default: $NICELIST_BUCKET, else nicelist-archive)")
    parser.add_argument("--application", help="KCL application (default: $NICELIST_APPLICATION, else nicelist-worker)")
    parser.add_argument("--glue-database", default="nicelist", help="Glue database of the Athena tables")
    parser.add_argument(
        "--warm-write-units",
        type=int,
        default=0,
        metavar="N",
        help="default of the WarmWriteUnits parameter: the kid table's warm write throughput "
        "(the figure `nicelist reshard plan` prints; 0: DynamoDB's default)",
    )


def run(args: argparse.Namespace) -> int:
    from deploy import template
    from foundation.settings import PipelineNames

    names = PipelineNames.from_env(
        stream=args.stream, table=args.table, bucket=args.bucket, application=args.application
    )
    document = template(
        names, shards=args.shards, glue_database=args.glue_database, warm_write_units=args.warm_write_units
    )
    print(json.dumps(document, indent=2))
    return 0
