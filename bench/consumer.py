"""Consumer benchmark (issue 13): ``python -m bench.consumer [--json]``.

The record processor's own path, driven through its KCL-facing API (``initialize``,
``process_records`` with batches of 500 records, ``shutdown_requested``; a fake checkpointer),
beside two Lambda-style handlers measured in the same run on the same records:

- ``put_item_baseline``: decode each record, one unconditional ``PutItem`` per event;
- ``batch_write_ceiling``: decode, latest per kid, unconditional ``BatchWriteItem`` of 25 (the
  batching ceiling: no condition, nothing to settle per item).

AWS answers in-process through a botocore ``before-send`` hook, so serialization, signing,
endpoint resolution and response parsing still run; only the HTTP exchange is skipped. Two
workloads: distinct kids, and each kid five times in its batch. Per-core figures are events
per CPU second of the whole process (``time.process_time``: every thread); runs alternate and
the best of ``--repeat`` is kept. A second pass gives every AWS call 5 ms of wall time (the hook
sleeps) and reports events per wall second: what one shard's processor keeps up with.

A third pass (:mod:`bench._throttled`) gives the kid table a write capacity of
``--throttle-capacity`` units per second for ``--throttle-seconds`` (default 60) and reports how
much of it the processor used, that it did not give up, and the write statements per kid of a
fresh processor on the full table afterwards.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from bench._inprocess import (
    SHARD_ID,
    Checkpointer,
    InProcessAws,
    batches,
    client,
    parse,
)


# --- workloads -----------------------------------------------------------------------------------
def make_records(count: int, repeat: int) -> list[dict[str, Any]]:
    """KCL record messages of ``count`` events; each kid appears ``repeat`` times in its batch."""
    from bench.producer import make_events
    from schemas import encode_event

    events = make_events(count)
    if repeat > 1:
        for n, event in enumerate(events):
            event["kid_id"] = events[n - n % repeat]["kid_id"]
    return [
        {
            "action": "record",
            "data": base64.b64encode(encode_event(event)).decode("ascii"),
            "partitionKey": event["kid_id"],
            "sequenceNumber": str(10**20 + n),
            "subSequenceNumber": 0,
            "approximateArrivalTimestamp": 1_766_448_000_000,
        }
        for n, event in enumerate(events)
    ]


def _run_delay_s() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; 0 elsewhere):
    on a shared machine, the part of the wall time that other processes took."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass(frozen=True)
class Result:
    events: int
    cpu_s: float
    wall_s: float
    calls: int
    waited_s: float = 0.0

    @property
    def per_cpu_s(self) -> float:
        return self.events / self.cpu_s

    @property
    def per_wall_s(self) -> float:
        return self.events / self.wall_s

    @property
    def per_own_wall_s(self) -> float:
        """Events per wall second minus the time the main thread waited for a CPU."""
        return self.events / max(self.wall_s - self.waited_s, 1e-9)


def _timed(events: int, aws: InProcessAws, body: Callable[[], None]) -> Result:
    cpu, wall, waited = time.process_time(), time.perf_counter(), _run_delay_s()
    body()
    return Result(events, time.process_time() - cpu, time.perf_counter() - wall, aws.calls, _run_delay_s() - waited)


# --- the three paths -----------------------------------------------------------------------------
def run_processor(records: list[dict[str, Any]], config: Any, latency_s: float) -> Result:
    """The real NicelistProcessor with the sinks ``config`` selects, clients as consumer.app builds them."""
    from amazon_kclpy import messages

    from consumer.app import build_sinks, client_options
    from consumer.processor import NicelistProcessor

    aws = InProcessAws(latency_s)
    dynamodb, archive = build_sinks(
        config,
        client("dynamodb", aws, **client_options(config, "dynamodb")),
        client("s3", aws, **client_options(config, "s3")),
    )

    def fail(status: int) -> None:
        raise RuntimeError(f"the processor gave up (exit {status})")

    processor = NicelistProcessor(config=config, dynamodb=dynamodb, archive=archive, exit=fail)
    processor.initialize(
        messages.InitializeInput(
            {"action": "initialize", "shardId": SHARD_ID, "sequenceNumber": None, "subSequenceNumber": None}
        )
    )
    checkpointer = Checkpointer()
    lines = batches(records)
    shutdown = messages.ShutdownRequestedInput({"action": "shutdownRequested"})
    shutdown._checkpointer = checkpointer

    def body() -> None:
        for line in lines:
            message = parse(line)
            message._checkpointer = checkpointer
            processor.process_records(message)
        processor.shutdown_requested(shutdown)

    try:
        result = _timed(len(records), aws, body)
    finally:
        dynamodb.close()
        archive.close()
    if processor.failed or not checkpointer.calls or processor.counters["events"] != len(records):
        raise RuntimeError(f"the processor did not store everything: {processor.counters}")
    return result


def _decoded(line: str) -> Iterable[Any]:
    from consumer.records import DecodedEvent, decode, from_kcl
    from schemas import BehaviourEventCodec

    codec = BehaviourEventCodec()
    for record in parse(line).records:
        for outcome in decode(from_kcl(record, SHARD_ID), codec):
            if isinstance(outcome, DecodedEvent):
                yield outcome


def run_put_item_baseline(records: list[dict[str, Any]], latency_s: float) -> Result:
    """A Lambda-style handler: decode, one unconditional PutItem per event, in order."""
    from consumer.dedupe import to_item

    aws = InProcessAws(latency_s)
    dynamodb = client("dynamodb", aws)
    lines = batches(records)

    def body() -> None:
        for batch in lines:
            for event in _decoded(batch):
                dynamodb.put_item(TableName="kids", Item=to_item(event, 0))

    return _timed(len(records), aws, body)


def run_batch_write_ceiling(records: list[dict[str, Any]], latency_s: float, validation: bool = True) -> Result:
    """A Lambda-style handler: decode, latest per kid, unconditional BatchWriteItem of 25."""
    from consumer.dedupe import latest_per_kid, to_item

    aws = InProcessAws(latency_s)
    dynamodb = client("dynamodb", aws, parameter_validation=validation)
    lines = batches(records)

    def body() -> None:
        for batch in lines:
            items = [{"PutRequest": {"Item": to_item(e, 0)}} for e in latest_per_kid(_decoded(batch))]
            for i in range(0, len(items), 25):
                answer = dynamodb.batch_write_item(RequestItems={"kids": items[i : i + 25]})
                if answer["UnprocessedItems"]:
                    raise RuntimeError("unprocessed items")

    return _timed(len(records), aws, body)


# --- the run -------------------------------------------------------------------------------------
def _configs() -> dict[str, Any]:
    from consumer import ProcessorConfig

    default = ProcessorConfig()
    return {
        "processor (default: batch-statement)": default,
        "  batch-statement, botocore serializer": replace(default, dynamodb_prebuilt_json=False),
        "  batch-statement, botocore serializer+validation": replace(
            default, dynamodb_prebuilt_json=False, dynamodb_parameter_validation=True
        ),
        "  batch-statement, 1 batch in flight": replace(default, dynamodb_batches_in_flight=1),
        "  batch-statement, 4 batches in flight": replace(default, dynamodb_batches_in_flight=4),
        "  batch-statement, 2 batches in flight": replace(default, dynamodb_batches_in_flight=2),
        "  batch-statement, 16 batches in flight": replace(default, dynamodb_batches_in_flight=16),
        "  batch-statement, no overlap of batches": replace(default, dynamodb_overlap_batches=False),
        "processor, put-item path (before)": replace(
            default, dynamodb_write_path="put-item", dynamodb_parameter_validation=True
        ),
    }


def measure(records: list[dict[str, Any]], repeat: int, latency_s: float, baseline_events: int) -> dict[str, Result]:
    """Best of ``repeat`` per path (CPU for the CPU pass, wall for the latency pass)."""
    best: dict[str, Result] = {}
    few = records[:baseline_events]
    runs: dict[str, Callable[[], Result]] = {
        name: (lambda c=config: run_processor(records, c, latency_s)) for name, config in _configs().items()
    }
    if latency_s:
        runs = {k: v for k, v in runs.items() if not k.startswith("  batch-statement, botocore")}
    runs["put_item baseline (Lambda-style)"] = lambda: run_put_item_baseline(few, latency_s)
    runs["batch_write ceiling (Lambda-style)"] = lambda: run_batch_write_ceiling(records, latency_s)
    if not latency_s:
        runs["  batch_write ceiling, validation off"] = lambda: run_batch_write_ceiling(records, 0.0, False)
    for _ in range(repeat):
        for name, run in runs.items():
            result = run()
            key = (lambda r: -r.per_wall_s) if latency_s else (lambda r: -r.per_cpu_s)
            if name not in best or key(result) < key(best[name]):
                best[name] = result
    return best


FIELDS = {
    "processor_events_per_cpu_s": ("cpu", "processor (default: batch-statement)"),
    "put_item_baseline_events_per_cpu_s": ("cpu", "put_item baseline (Lambda-style)"),
    "batch_write_ceiling_events_per_cpu_s": ("cpu", "batch_write ceiling (Lambda-style)"),
    "shard_events_per_s_at_5ms": ("wall", "processor (default: batch-statement)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumer", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per CPU run (default 20000)")
    parser.add_argument("--latency-events", type=int, default=10_000, help="events per 5 ms run (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept (default 3)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="wall time of each AWS call, 2nd pass")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one core")
    parser.add_argument(
        "--throttle-capacity", type=float, default=1000.0, help="write units/s of the throttled pass (default 1000)"
    )
    parser.add_argument(
        "--throttle-seconds", type=float, default=60.0, help="seconds the capacity applies (default 60; 0: skip)"
    )
    parser.add_argument("--only-throttled", action="store_true", help="run the throttled pass alone")
    args = parser.parse_args(argv)
    out = sys.stderr if args.json else sys.stdout
    if hasattr(os, "sched_setaffinity") and not args.no_pin:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        print(f"pinned to core {core}", file=out)

    figures: dict[str, Any] = {}
    for suffix, repeat in () if args.only_throttled else (("", 1), ("_repeat5", 5)):
        label = "distinct kids" if repeat == 1 else "each kid 5 times in its batch"
        cpu = measure(make_records(args.events, repeat), args.repeat, 0.0, min(args.events, 5_000))
        lat = measure(
            make_records(args.latency_events, repeat),
            args.repeat,
            args.latency_ms / 1000,
            min(args.latency_events, 1_000),
        )
        ceiling = cpu["batch_write ceiling (Lambda-style)"].per_cpu_s
        print(
            f"\n{label}: {args.events} events per CPU run, {args.latency_events} per {args.latency_ms:g} ms run",
            file=out,
        )
        at_label = f"ev/s @{args.latency_ms:g}ms"
        print(
            f"{'path':42} {'ev/cpu-s':>9} {'us/ev':>6} {'x ceil':>6} {'calls':>6}  {at_label:>12} {'(own core)':>10}",
            file=out,
        )
        for name, result in cpu.items():
            at = lat.get(name)
            print(
                f"{name:42} {result.per_cpu_s:9,.0f} {1e6 / result.per_cpu_s:6.0f} {result.per_cpu_s / ceiling:6.2f} "
                f"{result.calls:6} "
                + (f"{at.per_wall_s:12,.0f} {at.per_own_wall_s:10,.0f}" if at else f"{'-':>12} {'-':>10}"),
                file=out,
            )
        for field, (kind, name) in FIELDS.items():
            figures[field + suffix] = round(cpu[name].per_cpu_s if kind == "cpu" else lat[name].per_wall_s, 1)
        figures["shard_events_per_s_at_5ms_own_core" + suffix] = round(
            lat["processor (default: batch-statement)"].per_own_wall_s, 1
        )
        figures["processor_put_item_path_events_per_cpu_s" + suffix] = round(
            cpu["processor, put-item path (before)"].per_cpu_s, 1
        )
        figures["processor_put_item_path_shard_events_per_s_at_5ms" + suffix] = round(
            lat["processor, put-item path (before)"].per_wall_s, 1
        )
    if args.throttle_seconds > 0:
        from bench._throttled import run_throttled_pass

        figures |= run_throttled_pass(
            capacity_per_s=args.throttle_capacity,
            seconds=args.throttle_seconds,
            latency_s=args.latency_ms / 1000,
            say=lambda line: print(line, file=out),
        )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print("\n" + json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
