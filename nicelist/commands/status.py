"""``nicelist status``: the pipeline on one screen (shards, leases, lag, throttles, dead letters, alarms)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from . import _types
from ._options import add_aws, add_json, add_names, aws_settings, pipeline_names

HELP = "one screen: shards and load, leases per worker, lag per shard, throttles, dead letters, alarms"
#: move the cursor home and clear the screen (ANSI), so --watch refreshes in place
_CLEAR = "\033[H\033[2J"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names(parser, "stream", "table", "application")
    add_aws(parser)
    parser.add_argument("--minutes", type=_types.positive_int, default=5, help="metrics window (default %(default)s)")
    add_json(parser)
    parser.add_argument(
        "--watch",
        nargs="?",
        type=_types.positive_float,
        const=5.0,
        metavar="SECONDS",
        help="refresh every SECONDS (default 5); with --json, one document per refresh",
    )


def run(args: argparse.Namespace) -> int:
    from admin.status import gather_status

    names = pipeline_names(args)
    aws = aws_settings(args)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = aws.client(service, retries={"mode": "standard", "total_max_attempts": 2})
        return clients[service]

    # the screen shows what it can read during an incident, but a stream that does not exist or an
    # endpoint that cannot be reached is not a status: one line and exit 1 (the stream's name)
    client("kinesis").describe_stream_summary(StreamName=names.stream)
    while True:
        status = gather_status(client, names, window_minutes=args.minutes)
        if args.json:
            print(json.dumps(status.to_dict(), default=str), flush=True)
        else:
            print((_CLEAR if args.watch and sys.stdout.isatty() else "") + status.render(), flush=True)
        if not args.watch:
            return 0
        time.sleep(args.watch)
