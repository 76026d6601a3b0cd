"""``nicelist alarms show|apply``: the pipeline's CloudWatch alarms and their SNS topic, as code."""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import _types
from ._options import add_aws, add_json, add_names, aws_settings, pipeline_names

HELP = "show or apply (idempotently) the CloudWatch alarms and their SNS topic"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("show", "apply"), help="show the definitions, or apply them")
    add_names(parser, "stream", "table", "application")
    add_aws(parser)
    parser.add_argument(
        "--email", type=_types.email, action="append", default=[], help="subscribe this address to the topic (repeat)"
    )
    parser.add_argument(
        "--https", type=_types.https_url, action="append", default=[], help="subscribe this https:// URL (repeat)"
    )
    parser.add_argument("--no-topic", action="store_true", help="alarms without actions (no SNS topic)")
    parser.add_argument("--dry-run", action="store_true", help="apply: say what would change, change nothing")
    add_json(parser)


def _watches(spec: Any) -> list[str]:
    """What the alarm reads: its metric and statistic, or its expression and the metrics in it."""

    def metric(namespace: str, name: str, dimensions: Any, statistic: str) -> str:
        return f"{namespace} {name} [{','.join(f'{k}={v}' for k, v in dimensions)}] {statistic}"

    if not spec.expression:
        return [metric(spec.namespace, spec.metric, spec.dimensions, spec.statistic)]
    lines = [f"metric math {spec.expression}"]
    return lines + [f"  {i.id} = {metric(i.namespace, i.metric, i.dimensions, i.statistic)}" for i in spec.inputs]


def run(args: argparse.Namespace) -> int:
    from admin.alarms import alarm_specs, apply_alarms, ensure_topic, topic_name

    names = pipeline_names(args)
    specs = alarm_specs(names)
    if args.action == "show":
        if args.json:
            print(json.dumps([s.put_metric_alarm_args(None) for s in specs], indent=2))
            return 0
        for spec in specs:
            print(f"{spec.name}")
            for line in _watches(spec):
                print(f"  {line}")
            print(
                f"  {spec.comparison} {spec.threshold:g} in {spec.datapoints} of {spec.evaluation_periods}"
                f" x {spec.period_s} s"
            )
            print(f"  why: {spec.reason}")
            print(f"  missing data: {spec.treat_missing_data}: {spec.missing_data_reason}")
        print(f"actions: SNS topic {topic_name(names)} (see docs/OPERATIONS.md, 'Alarms')")
        return 0
    aws = aws_settings(args)
    # alarms on a stream or table that does not exist would watch nothing: refuse (exit 1, named)
    aws.client("kinesis").describe_stream_summary(StreamName=names.stream)
    aws.client("dynamodb").describe_table(TableName=names.table)
    topic_arn = None
    if not args.no_topic:
        topic = ensure_topic(
            aws.client("sns"), topic_name(names), emails=args.email, https=args.https, dry_run=args.dry_run
        )
        topic_arn = topic.arn or None
        for line in topic.actions:
            print(line)
    changes = apply_alarms(aws.client("cloudwatch"), specs, topic_arn, dry_run=args.dry_run)
    for change in changes:
        print(("(dry run) " if args.dry_run and change.action != "unchanged" else "") + change.describe())
    changed = sum(c.action != "unchanged" for c in changes)
    print(f"{changed} of {len(changes)} alarms {'would change' if args.dry_run else 'changed'}")
    return 0
