"""``nicelist local``: run the embedded local AWS (Kinesis, DynamoDB, S3, CloudWatch) in the foreground."""

from __future__ import annotations

import argparse

from . import _types

HELP = "run the embedded local AWS on one loopback port (HTTP/1.1 and h2c) until Ctrl-C"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=_types.listen_port, default=0, help="port (default 0: a free one, printed at start)"
    )
    parser.add_argument("--no-kinesis-fixes", action="store_true", help="serve moto's Kinesis unpatched (to compare)")
    from localaws import add_limits_arguments

    add_limits_arguments(parser)
    parser.add_argument(
        "--alarm-interval",
        type=_types.non_negative_float,
        default=10.0,
        metavar="S",
        help="evaluate the CloudWatch alarms every S seconds and notify their SNS topics' local subscribers "
        "(SQS queues, loopback HTTP); 0: never (default %(default)s)",
    )
    # localaws declares these as plain floats (it cannot import the CLI's types): check them here
    for action in parser._actions:
        if action.dest in ("limits_scale", "limits_read_calls", "metrics_period", "limits_dynamodb_burst"):
            action.type = _types.positive_float


def run(args: argparse.Namespace) -> int:
    from localaws import ServerConfig, limits_from_args, serve

    limits = limits_from_args(args)

    def announce(endpoint_url: str) -> None:
        print(f"local AWS (Kinesis, DynamoDB, S3, CloudWatch) at {endpoint_url}; Ctrl-C stops it")
        print("point the AWS SDKs and nicelist at it with:")
        print(f"  export AWS_ENDPOINT_URL={endpoint_url}")
        print("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1")
        if limits is not None:
            print(
                f"limits mode: per shard {limits.write_records_per_s:g} records/s and {limits.write_bytes_per_s:.0f} "
                f"bytes/s in, {limits.read_bytes_per_s:.0f} bytes/s and {limits.read_calls_per_s:g} GetRecords/s out; "
                f"AWS/Kinesis metrics every {limits.metrics_period_s:g} s"
            )
            print(
                "  and each DynamoDB table's own write capacity (provisioned, or on-demand warm/maximum "
                "throughput; 1,000 units/s per partition); AWS/DynamoDB metrics on the same periods"
            )
        print("then: nicelist provision", flush=True)

    config = ServerConfig(
        host=args.host,
        port=args.port,
        kinesis_fixes=not args.no_kinesis_fixes,
        limits=limits,
        alarm_interval_s=args.alarm_interval,
    )
    serve(config, on_ready=announce)
    return 0
