"""``nicelist alarms show|apply``: the pipeline's CloudWatch alarms and their SNS topic, as code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "show or apply (idempotently) the CloudWatch alarms and their SNS topic"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("show", "apply"), help="show the definitions, or apply them")
    parser.add_argument("--stream", help="stream name (default: $NICELIST_STREAM, else nicelist)")
    parser.add_argument("--table", help="DynamoDB table (default: $NICELIST_TABLE, else nicelist-kids)")
    parser.add_argument("--application", help="KCL application (default: $NICELIST_APPLICATION, else nicelist-worker)")
    parser.add_argument("--endpoint", help="AWS endpoint URL (default: $AWS_ENDPOINT_URL[_<SERVICE>], else AWS)")
    parser.add_argument("--email", action="append", default=[], help="subscribe this address to the topic (repeat)")
    parser.add_argument("--https", action="append", default=[], help="subscribe this https:// URL (repeat)")
    parser.add_argument("--no-topic", action="store_true", help="alarms without actions (no SNS topic)")
    parser.add_argument("--dry-run", action="store_true", help="apply: say what would change, change nothing")
    parser.add_argument("--json", action="store_true", help="show: the definitions as JSON")


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
    from foundation.settings import AwsSettings, PipelineNames

    names = PipelineNames.from_env(stream=args.stream, table=args.table, application=args.application)
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
    aws = AwsSettings.from_env(endpoint_url=args.endpoint)
    try:
        topic_arn = None
        if not args.no_topic:
            topic = ensure_topic(
                aws.client("sns"), topic_name(names), emails=args.email, https=args.https, dry_run=args.dry_run
            )
            topic_arn = topic.arn or None
            for line in topic.actions:
                print(line)
        changes = apply_alarms(aws.client("cloudwatch"), specs, topic_arn, dry_run=args.dry_run)
    except ValueError as exc:
        print(f"alarms: {exc}", file=sys.stderr)
        return 2
    for change in changes:
        print(("(dry run) " if args.dry_run and change.action != "unchanged" else "") + change.describe())
    changed = sum(c.action != "unchanged" for c in changes)
    print(f"{changed} of {len(changes)} alarms {'would change' if args.dry_run else 'changed'}")
    return 0
