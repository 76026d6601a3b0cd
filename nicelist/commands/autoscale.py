"""``nicelist autoscale``: keep the stream's shard count ahead of the load, with no human.

Reads the stream's AWS/Kinesis metrics (utilisation, throttled records, iterator age) every
period, decides with a pure policy (scale up fast, down slowly, hot-shard splits, scheduled
floors, within the UpdateShardCount quotas and the account's shard limit), logs and publishes
each decision (namespace ``nicelist``) and acts through the reshard executor. ``--once`` makes
one decision (cron, a Lambda schedule); without it, it runs until Ctrl-C or SIGTERM (systemd).
One autoscaler at a time per stream: each takes a lease in the ``<application>-autoscale-lock``
table (``nicelist provision`` creates it); a second one stands by. Exit status: 0, 1 when a
change failed (or no lock table), 2 for bad settings, 3 when ``--once`` found the lock held.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import _types
from ._options import add_aws, add_names, aws_settings, pipeline_names

HELP = "scale the stream's shards to the load: policy, schedule, --dry-run, --once or long-running"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names(parser, "stream", "application")
    add_aws(parser)
    parser.add_argument("--once", action="store_true", help="make one decision and exit (cron, Lambda)")
    parser.add_argument("--dry-run", action="store_true", help="decide and log, change nothing")
    parser.add_argument(
        "--period", type=_types.positive_int, default=60, metavar="S", help="metric period in seconds (default 60)"
    )
    parser.add_argument(
        "--interval", type=_types.positive_float, default=None, metavar="S", help="seconds between decisions"
    )
    parser.add_argument(
        "--limits-scale",
        type=_types.positive_float,
        default=1.0,
        metavar="F",
        help="per-shard limits x F (the embedded stack's --limits-scale; default 1: Kinesis's)",
    )
    parser.add_argument("--min-shards", type=_types.shard_count, default=1)
    parser.add_argument("--max-shards", type=_types.shard_count, default=None)
    parser.add_argument(
        "--floor",
        type=_floor,
        action="append",
        default=[],
        metavar="FROM[..TO]=N",
        help="scheduled floor, e.g. 2026-12-20=8 or 2026-12-20..2026-12-27T12:00=16 (UTC; repeatable)",
    )
    parser.add_argument("--up-utilisation", type=_types.positive_float, default=0.75, metavar="U")
    parser.add_argument("--target-utilisation", type=_types.positive_float, default=0.6, metavar="U")
    parser.add_argument("--down-utilisation", type=_types.non_negative_float, default=0.25, metavar="U")
    parser.add_argument(
        "--up-periods", type=_types.positive_int, default=2, help="periods a scale-up condition must hold (2)"
    )
    parser.add_argument(
        "--down-periods", type=_types.positive_int, default=10, help="quiet periods before a scale-down (10)"
    )
    parser.add_argument(
        "--cool-off", type=_types.non_negative_float, default=3600.0, metavar="S", help="no scale-down after a change"
    )
    parser.add_argument(
        "--settle", type=_types.non_negative_float, default=120.0, metavar="S", help="no scale-up after a change"
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        help="remembers UpdateShardCount calls and a change in flight "
        "(default ~/.local/state/nicelist/autoscale-STREAM.json)",
    )
    parser.add_argument("--no-metrics", action="store_true", help="do not publish decisions to CloudWatch")
    parser.add_argument(
        "--lock-table",
        type=_types.aws_name("table"),
        help="DynamoDB table of the one-autoscaler-per-stream lease (default: $NICELIST_APPLICATION-autoscale-lock)",
    )
    parser.add_argument(
        "--lock-lease",
        type=_types.positive_float,
        default=None,
        metavar="S",
        help="lease length (default max(180, 3 x interval))",
    )
    parser.add_argument("--no-lock", action="store_true", help="take no lease (only when nothing else can run)")


def _floor(text: str) -> Any:
    try:
        return parse_floor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_floor(text: str) -> Any:
    """``FROM[..TO]=N`` with ISO dates or times (UTC) -> :class:`admin.autoscale.Floor`."""
    from datetime import UTC, datetime

    from admin.autoscale import Floor

    def when(value: str) -> datetime:
        moment = datetime.fromisoformat(value.strip())
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    span, sep, count = text.partition("=")
    if not sep:
        raise ValueError(f"--floor wants FROM[..TO]=N, got {text!r}")
    start, _, end = span.partition("..")
    return Floor(start=when(start), end=when(end) if end else None, shards=_types.shard_count(count))


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError

    from admin.autoscale import AutoscaleConfig, Autoscaler, PolicyConfig, ShardLimits, StreamLock, lock_table_name
    from foundation.aws_errors import error_code
    from foundation.limits import UPDATE_SHARD_COUNT_MAX_SHARDS

    from .._cli_errors import CommandFailed

    names = pipeline_names(args)
    stream = names.stream
    state = args.state_file or Path.home() / ".local" / "state" / "nicelist" / f"autoscale-{stream}.json"
    config = AutoscaleConfig(
        stream=stream,
        period_s=args.period,
        interval_s=args.interval,
        limits=ShardLimits.scaled(args.limits_scale),
        policy=PolicyConfig(
            up_utilisation=args.up_utilisation,
            target_utilisation=args.target_utilisation,
            down_utilisation=args.down_utilisation,
            up_periods=args.up_periods,
            down_periods=args.down_periods,
            cool_off_s=args.cool_off,
            settle_s=args.settle,
            min_shards=args.min_shards,
            max_shards=args.max_shards or UPDATE_SHARD_COUNT_MAX_SHARDS,
            floors=tuple(args.floor),
        ),
        dry_run=args.dry_run,
        state_path=state,
        publish_metrics=not args.no_metrics,
    )
    aws = aws_settings(args)
    kinesis = aws.client("kinesis")
    # the stream must exist (a missing one, or an unreachable endpoint, is one line and exit 1)
    kinesis.describe_stream_summary(StreamName=stream)

    def show(record: Any) -> None:
        decision = record.decision
        print(
            f"{record.at:%Y-%m-%dT%H:%M:%SZ} {decision.action} {record.open_shards} -> {decision.target} "
            f"[{record.outcome}] {decision.reason}",
            flush=True,
        )

    lock = None
    if not args.no_lock:
        table = args.lock_table or lock_table_name(names.application)
        lease = args.lock_lease if args.lock_lease is not None else max(180.0, 3 * config.every_s)
        lock = StreamLock(aws.client("dynamodb"), table, stream, lease_s=lease)
    autoscaler = Autoscaler(kinesis, aws.client("cloudwatch"), config, on_decision=show, lock=lock)
    try:
        if lock is not None:
            lock.acquire()  # fails fast when the lock table is missing (step() takes or renews it anyway)
        if args.once:
            try:
                record = autoscaler.step()
            finally:
                autoscaler.release()
            return 3 if record.outcome == "standby" else 1 if record.outcome.startswith("FAILED") else 0
        return _run_until_stopped(autoscaler)
    except ClientError as exc:
        if lock is not None and error_code(exc) == "ResourceNotFoundException" and lock.held_until is None:
            raise CommandFailed(
                f"lock table {lock.table} not found: `nicelist provision` creates it (or --no-lock)"
            ) from exc
        raise


def _run_until_stopped(autoscaler: Any) -> int:
    import signal
    import threading

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        autoscaler.run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 1 if any(r.outcome.startswith("FAILED") for r in autoscaler.history) else 0
