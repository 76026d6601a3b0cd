"""``nicelist reconcile``: compare the S3 archive with the DynamoDB table.

Exit status: 0 when they agree, 1 when anything disagrees (kids missing from the table, stale
items, items with no archived event, records archived twice, archive objects that are not
archive files: each is named and skipped, never read as rows), 2 when they cannot be read.
"""

from __future__ import annotations

import argparse

HELP = "compare the S3 archive with the DynamoDB table (exit 0 when they agree)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint", help="one endpoint URL for every service (default: the AWS_ENDPOINT_URL* variables)"
    )
    parser.add_argument("--table", help="DynamoDB table (default: $NICELIST_TABLE or nicelist-kids)")
    parser.add_argument("--bucket", help="archive bucket (default: $NICELIST_BUCKET or nicelist-archive)")
    parser.add_argument("--window", type=int, default=8, help="archive objects fetched concurrently (default 8)")
    parser.add_argument(
        "--archive",
        choices=("raw", "compacted"),
        default="raw",
        help="raw: every Avro object (default); compacted: each compacted hour's Parquet, Avro elsewhere",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def run(args: argparse.Namespace) -> int:
    import sys

    from foundation.progress import Progress
    from foundation.settings import AwsSettings, PipelineNames
    from reconcile import SourceError, describe_report, reconcile

    names = PipelineNames.from_env(table=args.table, bucket=args.bucket)
    aws = AwsSettings.from_env(endpoint_url=args.endpoint)
    progress = Progress(enabled=not args.no_progress)
    s3 = aws.client("s3")
    archive = None
    if args.archive == "compacted":
        from analytics import CompactedArchive

        archive = CompactedArchive(s3, names.bucket)
    try:
        report = reconcile(
            s3=s3,
            dynamodb=aws.client("dynamodb"),
            bucket=names.bucket,
            table=names.table,
            progress=progress,
            window=args.window,
            archive=archive,
        )
    except SourceError as exc:
        print(f"reconcile: {exc}", file=sys.stderr)
        return 2
    for line in describe_report(report):
        print(line)
    return 0 if report.ok else 1
