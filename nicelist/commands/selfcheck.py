"""``nicelist selfcheck``: confirm on a scratch DynamoDB table what the worker assumes of DynamoDB
where AWS does not document it (docs/ASSUMPTIONS.md); the checks are in :mod:`consumer.selfcheck`."""

from __future__ import annotations

import argparse

from . import _types
from ._options import add_aws, add_json, aws_settings

HELP = "confirm on a scratch DynamoDB table the undocumented behaviours the worker relies on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scratch-table",
        type=_types.aws_name("table"),
        required=True,
        help="a scratch table to check on (never the pipeline's kid table)",
    )
    parser.add_argument("--create", action="store_true", help="create the scratch table first (on-demand)")
    add_aws(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    import json

    from consumer.selfcheck import DIFFERS, SelfCheck
    from foundation.settings import PipelineNames

    from .._cli_errors import UsageError

    if args.scratch_table == PipelineNames.from_env().table:
        raise UsageError(f"{args.scratch_table} is the pipeline's kid table; give a scratch table")
    client = aws_settings(args).client("dynamodb")
    if args.create:
        client.create_table(
            TableName=args.scratch_table,
            KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=args.scratch_table)
    checks = SelfCheck(client, args.scratch_table).run()
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        for check in checks:
            print(f"{check.outcome:9}  {check.name:26} {check.detail}")
            print(f"{'':9}  {'':26} assumes: {check.assumption}")
        print(f"\nwhen done: aws dynamodb delete-table --table-name {args.scratch_table}")
    return 1 if any(c.outcome == DIFFERS for c in checks) else 0
