"""``nicelist status``: the pipeline on one screen (shards, leases, lag, throttles, dead letters, alarms)."""

from __future__ import annotations

import argparse
import json
import sys
import time

HELP = "one screen: shards and load, leases per worker, lag per shard, throttles, dead letters, alarms"
#: move the cursor home and clear the screen (ANSI), so --watch refreshes in place
_CLEAR = "\033[H\033[2J"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", help="stream name (default: $NICELIST_STREAM, else nicelist)")
    parser.add_argument("--table", help="DynamoDB table (default: $NICELIST_TABLE, else nicelist-kids)")
    parser.add_argument("--application", help="KCL application (default: $NICELIST_APPLICATION, else nicelist-worker)")
    parser.add_argument("--endpoint", help="AWS endpoint URL (default: $AWS_ENDPOINT_URL[_<SERVICE>], else AWS)")
    parser.add_argument("--minutes", type=int, default=5, help="metrics window (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="JSON (one document per refresh)")
    parser.add_argument(
        "--watch", nargs="?", type=float, const=5.0, metavar="SECONDS", help="refresh every SECONDS (default 5)"
    )


def run(args: argparse.Namespace) -> int:
    from admin.status import gather_status
    from foundation.settings import AwsSettings, PipelineNames

    names = PipelineNames.from_env(stream=args.stream, table=args.table, application=args.application)
    aws = AwsSettings.from_env(endpoint_url=args.endpoint)
    clients: dict[str, object] = {}

    def client(service: str) -> object:
        if service not in clients:
            clients[service] = aws.client(service, retries={"mode": "standard", "total_max_attempts": 2})
        return clients[service]

    while True:
        status = gather_status(client, names, window_minutes=args.minutes)
        if args.json:
            print(json.dumps(status.to_dict(), default=str), flush=True)
        else:
            print((_CLEAR if args.watch and sys.stdout.isatty() else "") + status.render(), flush=True)
        if not args.watch:
            return 0
        time.sleep(args.watch)
