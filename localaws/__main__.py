"""``python -m localaws --host 127.0.0.1 --port N``: serve the embedded local AWS until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from ._limits import add_limits_arguments, limits_from_args
    from ._server import DEFAULT_ALARM_INTERVAL_S, DEFAULT_HOST, DEFAULT_PORT, ServerConfig, serve

    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port, 0 for a free one (default %(default)s)")
    parser.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--no-kinesis-fixes", action="store_true", help="serve moto's Kinesis as shipped")
    add_limits_arguments(parser)
    parser.add_argument(
        "--alarm-interval",
        type=float,
        default=DEFAULT_ALARM_INTERVAL_S,
        metavar="S",
        help="evaluate the CloudWatch alarms every S seconds and notify their SNS topics (0: never; %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (to stderr)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=max(logging.WARNING - 10 * args.verbose, logging.DEBUG),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = ServerConfig(
        host=args.host,
        port=args.port,
        listen_fd=args.listen_fd,
        parent_pid=args.parent_pid,
        kinesis_fixes=not args.no_kinesis_fixes,
        limits=limits_from_args(args),
        alarm_interval_s=args.alarm_interval,
    )
    serve(config, on_ready=_announce)
    return 0


def _announce(endpoint_url: str) -> None:
    """The one line on stdout: where the stack listens (logs go to stderr)."""
    sys.stdout.write(f"localaws: serving Kinesis, DynamoDB, S3 and CloudWatch at {endpoint_url}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
