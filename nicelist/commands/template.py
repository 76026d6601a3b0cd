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


def run(args: argparse.Namespace) -> int:
    from deploy import template

    names = pipeline_names(args)
    print(json.dumps(template(names, shards=args.shards, glue_database=args.glue_database), indent=2))
    return 0
