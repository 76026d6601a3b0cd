"""``nicelist template``: the CloudFormation template of a deployment (JSON, which CloudFormation reads)."""

from __future__ import annotations

import argparse
import json

from . import _types
from ._options import add_names, pipeline_names

HELP = "print the CloudFormation template: stream, table, bucket, IAM roles, alarms, topic, Athena tables"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shards", type=_types.shard_count, default=4, help="default of the ShardCount parameter (%(default)s)"
    )
    add_names(parser, "stream", "table", "bucket", "application")
    parser.add_argument("--glue-database", default="nicelist", help="Glue database of the Athena tables")
    parser.add_argument(
        "--warm-write-units",
        type=_types.non_negative_int,
        default=0,
        metavar="N",
        help="default of the WarmWriteUnits parameter: the kid table's warm write throughput "
        "(the figure `nicelist reshard plan` prints; 0: DynamoDB's default)",
    )


def run(args: argparse.Namespace) -> int:
    from deploy import template

    names = pipeline_names(args)
    document = template(
        names, shards=args.shards, glue_database=args.glue_database, warm_write_units=args.warm_write_units
    )
    print(json.dumps(document, indent=2))
    return 0
