"""``nicelist selfcheck``: confirm on a scratch DynamoDB table what the worker assumes of DynamoDB
where AWS does not document it (docs/ASSUMPTIONS.md); the checks are in :mod:`consumer.selfcheck`."""

from __future__ import annotations

import argparse

HELP = "confirm on a scratch DynamoDB table the undocumented behaviours the worker relies on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, help="a scratch table (never the pipeline's kid table)")
    parser.add_argument("--create", action="store_true", help="create the scratch table first (on-demand)")
    parser.add_argument("--endpoint", help="AWS endpoint URL (default: $AWS_ENDPOINT_URL[_<SERVICE>], else AWS)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from consumer.selfcheck import DIFFERS, SelfCheck
    from foundation.settings import AwsSettings, PipelineNames

    if args.table == PipelineNames.from_env().table:
        print(f"selfcheck: {args.table} is the pipeline's kid table; give a scratch table", file=sys.stderr)
        return 2
    client = AwsSettings.from_env(endpoint_url=args.endpoint).client("dynamodb")
    if args.create:
        client.create_table(
            TableName=args.table,
            KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=args.table)
    checks = SelfCheck(client, args.table).run()
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        for check in checks:
            print(f"{check.outcome:9}  {check.name:26} {check.detail}")
            print(f"{'':9}  {'':26} assumes: {check.assumption}")
        print(f"\nwhen done: aws dynamodb delete-table --table-name {args.table}")
    return 1 if any(c.outcome == DIFFERS for c in checks) else 0
