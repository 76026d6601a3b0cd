"""End-to-end benchmark: events/s through the whole pipeline on the embedded stack, next to the
stack's own ceilings measured in the same run.

    python -m bench.e2e [--events 12000 --rate 400 --kids 2000 --shards 4 --workers 2 ...]

1. Starts one embedded local AWS.
2. Ceilings of that stack, with the pipeline idle: raw PutRecords records/s (500 plain
   ~130-byte records per call, one client) and raw conditional DynamoDB PutItem/s (8 threads,
   the processor's default, the same condition the worker uses).
3. The demo on the same stack (workers, elves, spike, reshard, reconcile), with the record
   processors' AWS calls counted (a sitecustomize on their PYTHONPATH) and the memory of every
   process sampled from /proc.
4. Prints events/s through the pipeline and its ratio to each ceiling, DynamoDB writes per event
   (below 1 when the per-kid collapse absorbs repeat updates), and peak memory of the producer
   process and of each worker (JVM plus its record processors).

Not a test: figures from a shared 2-core machine are orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from foundation.limits import KINESIS_MAX_RECORDS_PER_PUT
from foundation.settings import PipelineNames
from nicelist.commands.produce import add_load_arguments, load_plan

SITE = Path(__file__).resolve().parent / "_e2e_site"
ROOT = Path(__file__).resolve().parent.parent
EVENT_BYTES = 130
DYNAMODB_THREADS = 8


def put_records_ceiling(kinesis: Any, seconds: float, shards: int) -> float:
    """Records/s that one client gets acknowledged with full 500-record PutRecords calls."""
    stream = f"ceiling-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
    blob = os.urandom(EVENT_BYTES)
    acknowledged = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        entries = [{"Data": blob, "PartitionKey": uuid.uuid4().hex} for _ in range(KINESIS_MAX_RECORDS_PER_PUT)]
        response = kinesis.put_records(StreamName=stream, Records=entries)
        acknowledged += len(entries) - response["FailedRecordCount"]
    elapsed = time.monotonic() - started
    kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
    return acknowledged / elapsed


def conditional_writes_ceiling(dynamodb: Any, seconds: float, threads: int) -> float:
    """Conditional PutItem/s (accepted or refused by the condition: both cost a write)."""
    table = f"ceiling-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def writer(index: int) -> None:
        rng = random.Random(index)
        observed = 1_766_448_000_000
        while time.monotonic() < deadline:
            observed += 1
            try:
                dynamodb.put_item(
                    TableName=table,
                    Item={
                        "kid_id": {"S": f"kid-{rng.randrange(10_000):07d}"},
                        "observed_at": {"N": str(observed)},
                        "event_id": {"S": str(uuid.uuid4())},
                        "behaviour": {"S": "NICE"},
                    },
                    ConditionExpression="attribute_not_exists(kid_id) OR observed_at < :o",
                    ExpressionAttributeValues={":o": {"N": str(observed)}},
                )
            except dynamodb.exceptions.ConditionalCheckFailedException:
                pass
            counts[index] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    dynamodb.delete_table(TableName=table)
    return sum(counts) / elapsed


class MemorySampler:
    """Samples the RSS of this process's descendants every ``interval_s`` from /proc; keeps the
    peak of each KCL worker tree (the JVM plus its record processors) and of the stack."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.peak_worker_kib = 0
        self.peak_processor_kib = 0
        self.peak_processors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    @staticmethod
    def _snapshot() -> dict[int, tuple[int, int, str]]:
        """pid -> (ppid, rss KiB, command line)."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                status = (entry / "status").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            found[int(entry.name)] = (int(stat[1]), rss, cmdline)
        return found

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval_s):
            procs = self._snapshot()
            children: dict[int, list[int]] = {}
            for pid, (ppid, _, _) in procs.items():
                children.setdefault(ppid, []).append(pid)

            def tree(pid: int, children: dict[int, list[int]] = children) -> list[int]:
                out, todo = [], [pid]
                while todo:
                    p = todo.pop()
                    out.append(p)
                    todo.extend(children.get(p, []))
                return out

            processors = 0
            for pid in tree(me):
                ppid, rss, cmdline = procs.get(pid, (0, 0, ""))
                if "MultiLangDaemon" in cmdline:
                    total = sum(procs[p][1] for p in tree(pid) if p in procs)
                    self.peak_worker_kib = max(self.peak_worker_kib, total)
                if "-m consumer" in cmdline:
                    processors += 1
                    self.peak_processor_kib = max(self.peak_processor_kib, rss)
            self.peak_processors = max(self.peak_processors, processors)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _calls(directory: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in directory.glob("calls-*.json"):
        try:
            total.update(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.splitlines()[0])
    add_load_arguments(parser, events=12_000, rate=400.0, kids=2_000, elves=4)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reshard-to", type=int, default=None, help="default 2x shards; 0: none")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0, help="length of each ceiling measurement")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the workers")
    args = parser.parse_args(argv)

    from demo import DemoConfig, run_demo
    from foundation.progress import Progress
    from localaws import LocalAWS

    plan = load_plan(args)
    counts_dir = Path(tempfile.mkdtemp(prefix="nicelist-bench-calls-"))
    config = DemoConfig(
        population=plan.population,
        shape=plan.shape,
        seed=args.seed,
        shards=args.shards,
        workers=args.workers,
        reshard_to=args.reshard_to,
        names=PipelineNames(),
        catch_up_timeout_s=args.timeout,
        worker_env={
            "NICELIST_BENCH_COUNTS_DIR": str(counts_dir),
            "PYTHONPATH": os.pathsep.join([str(SITE), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        },
    )

    def say(line: str) -> None:
        print(f"bench: {line}", file=sys.stderr, flush=True)

    with LocalAWS.start(port=0) as stack:
        say(f"local AWS at {stack.endpoint_url}; measuring its ceilings ({args.ceiling_seconds:.0f} s each)")
        put_ceiling = put_records_ceiling(stack.client("kinesis"), args.ceiling_seconds, args.shards)
        write_ceiling = conditional_writes_ceiling(
            stack.client("dynamodb", max_pool_connections=DYNAMODB_THREADS), args.ceiling_seconds, DYNAMODB_THREADS
        )
        with MemorySampler() as memory:
            summary = run_demo(config, progress=Progress(), say=say, stack=stack)
        busy = stack.busy()
    calls = _calls(counts_dir)
    producer_peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    events = summary.delivered
    batches = calls.get("dynamodb:BatchExecuteStatement", 0)
    writes = calls.get("dynamodb:PutItem", 0)
    rate = summary.events_per_s
    report = summary.report
    print()
    print("nicelist end-to-end benchmark (embedded stack, one run; orders of magnitude)")
    print(f"  events delivered / archived:           {events} / {summary.archived_events}  ok={summary.ok}")
    print(f"  pipeline events/s (first put -> all archived): {rate:8.0f}")
    print(
        f"  stack ceiling: raw PutRecords records/s:       {put_ceiling:8.0f}"
        f"   pipeline/ceiling {rate / put_ceiling:.2f}"
    )
    print(
        f"  stack ceiling: conditional PutItem/s ({DYNAMODB_THREADS} thr):  {write_ceiling:8.0f}"
        f"   pipeline/ceiling {rate / write_ceiling:.2f}"
    )
    print(f"  producers, paced by the plan: events/s acked:  {events / summary.produce_s:8.0f}")
    print(f"  DynamoDB BatchExecuteStatement calls:  {batches}  ({batches / max(events, 1):.3f} per event)")
    if writes:
        print(f"  DynamoDB PutItem by processors (put-item path): {writes}  ({writes / max(events, 1):.3f} per event)")
    print(f"  S3 PutObject by processors:            {calls.get('s3:PutObject', 0)}")
    if report is not None:
        p50, p99 = report.latency_percentile(0.5), report.latency_percentile(0.99)
        print(f"  put() -> DynamoDB item p50 / p99:      {p50} / {p99} ms")
    print(f"  peak RSS, producer process (4 elves + harness): {producer_peak_kib / 1024:6.0f} MiB")
    print(f"  peak RSS, one worker (JVM + processors):        {memory.peak_worker_kib / 1024:6.0f} MiB")
    print(
        f"  peak RSS, one record processor:                 {memory.peak_processor_kib / 1024:6.0f} MiB"
        f"  (up to {memory.peak_processors} at once)"
    )
    print(f"  reshard: {summary.reshard}")
    print("  where the embedded stack's one lock went (seconds held, the calls that bound it first):")
    for row in busy[:6]:
        print(f"    {row['service']}:{row['operation']:<28} {row['seconds']:8.1f} s")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
