"""``nicelist local``: run the embedded local AWS (Kinesis, DynamoDB, S3, CloudWatch) in the foreground."""

from __future__ import annotations

import argparse

HELP = "run the embedded local AWS on one loopback port (HTTP/1.1 and h2c) until Ctrl-C"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one, printed at start)")
    parser.add_argument("--no-kinesis-fixes", action="store_true", help="serve moto's Kinesis unpatched (to compare)")


def run(args: argparse.Namespace) -> int:
    from localaws import ServerConfig, serve

    def announce(endpoint_url: str) -> None:
        print(f"local AWS (Kinesis, DynamoDB, S3, CloudWatch) at {endpoint_url}; Ctrl-C stops it")
        print("point the AWS SDKs and nicelist at it with:")
        print(f"  export AWS_ENDPOINT_URL={endpoint_url}")
        print("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1")
        print("then: nicelist provision", flush=True)

    serve(ServerConfig(host=args.host, port=args.port, kinesis_fixes=not args.no_kinesis_fixes), on_ready=announce)
    return 0
