"""Producer hot-path benchmark (issue 2, section 5): ``python -m bench.producer``.

One process pinned to one core, the network call stubbed. Measures events/s through the whole
put() path (validate + encode + spool + aggregate + PutRecords request building, until flush()
returns 0) against a baseline of ``fastavro.schemaless_writer`` + ``aws_kinesis_agg``'s
``RecordAggregator`` with one random ``str`` partition key per event, on the same events, and
the wire bytes (data + partition key, as PutRecords sends them) per event against the Avro sizes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from io import BytesIO
from typing import Any

NOTES = (
    "shared the last gingerbread",
    "helped grandma carry the groceries upstairs",
    "drew on the wall again",
    "fed the cat without being asked",
    "pulled a sibling's hair",
    "cleaned up the whole playroom",
)


def make_events(count: int, seed: int = 2025) -> list[dict[str, Any]]:
    """Realistic events: uuid event ids, 16-hex kid ids, ~125-byte Avro bodies on average; a
    short note on 40 % of them, a location on half."""
    rng = random.Random(seed)
    base_ms = 1_766_448_000_000
    events = []
    for n in range(count):
        events.append(
            {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "kid_id": f"kid-{rng.getrandbits(64):016x}",
                "elf_id": f"elf-northpole-{rng.randrange(10_000):04d}",
                "behaviour": "NICE" if rng.random() < 0.7 else "NAUGHTY",
                "observed_at": base_ms + n * 7,
                "note": rng.choice(NOTES) if rng.random() < 0.4 else None,
                "location": (
                    {"lat": rng.uniform(-90, 90), "lon": rng.uniform(-180, 180)} if rng.random() < 0.5 else None
                ),
                "app_version": "elfapp/2.13.0",
            }
        )
    return events


class StubKinesis:
    """A Kinesis client whose PutRecords succeeds at once; counts what would go on the wire."""

    def __init__(self) -> None:
        self.wire_bytes = 0
        self.records = 0
        self._sequence = 0

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        results = []
        for entry in Records:
            self.wire_bytes += len(entry["Data"]) + len(entry["PartitionKey"].encode())
            self._sequence += 1
            results.append({"ShardId": "shardId-000000000000", "SequenceNumber": str(self._sequence)})
        self.records += len(Records)
        return {"FailedRecordCount": 0, "Records": results}


def run_baseline(events: list[dict[str, Any]]) -> tuple[float, int]:
    """fastavro + RecordAggregator, one random str key per event; returns (seconds, wire bytes)."""
    from aws_kinesis_agg.aggregator import RecordAggregator
    from fastavro import schemaless_writer

    import schemas

    writer = schemas.latest(schemas.BEHAVIOUR_EVENT)
    header = schemas.MAGIC + writer.fingerprint
    parsed = writer.parsed
    stub = StubKinesis()
    aggregator = RecordAggregator()
    requests: list[dict[str, Any]] = []

    def send(record: Any) -> None:
        key, _, data = record.get_contents()
        requests.append({"Data": data, "PartitionKey": key})
        if len(requests) == 500:
            stub.put_records(StreamName="bench", Records=requests)
            requests.clear()

    started = time.perf_counter()
    for event in events:
        buffer = BytesIO()
        buffer.write(header)
        schemaless_writer(buffer, parsed, event)
        full = aggregator.add_user_record(uuid.uuid4().hex, buffer.getvalue())
        if full is not None:
            send(full)
    last = aggregator.clear_and_get()
    if last is not None:
        send(last)
    if requests:
        stub.put_records(StreamName="bench", Records=requests)
    return time.perf_counter() - started, stub.wire_bytes


def run_producer(events: list[dict[str, Any]], spool_dir: str | None) -> tuple[float, int, dict[str, int]]:
    """The Producer with a stubbed client; returns (seconds, wire bytes, metrics)."""
    from producer import Producer, ProducerConfig

    stub = StubKinesis()
    config = ProducerConfig(
        stream_name="bench",
        kinesis_client=stub,
        spool_dir=spool_dir,
        max_buffered_bytes=1024 * 1024 * 1024,
        max_spool_bytes=4 * 1024 * 1024 * 1024,
    )
    producer = Producer(config)
    try:
        put = producer.put
        started = time.perf_counter()
        for event in events:
            put(event)
        if producer.flush(60) != 0:
            raise RuntimeError("events still pending after 60 s")
        elapsed = time.perf_counter() - started
        metrics = producer.metrics()
    finally:
        producer.close()
    return elapsed, stub.wire_bytes, metrics


def avro_sizes(events: list[dict[str, Any]]) -> tuple[int, int]:
    """Total bytes of the single-object encodings and of the Avro bodies alone."""
    import schemas

    codec = schemas.BehaviourEventCodec()
    single = sum(len(codec.encode(e)) for e in events)
    return single, single - schemas.HEADER_BYTES * len(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.producer", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per run (default 200000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported (default 3)")
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        print(f"pinned to core {core}")
    events = make_events(args.events)
    single_bytes, body_bytes = avro_sizes(events)
    n = len(events)
    print(f"{n} events; Avro body {body_bytes / n:.1f} B/event, single-object encoded {single_bytes / n:.1f} B/event")

    rows = []
    baseline_best = min(run_baseline(events) for _ in range(args.repeat))
    rows.append(("baseline: fastavro + RecordAggregator, str key per event", *baseline_best))
    producer_best = min(run_producer(events, None)[:2] for _ in range(args.repeat))
    rows.append(("nicelist Producer, no spool", *producer_best))
    with tempfile.TemporaryDirectory(prefix="nicelist-bench-") as tmp:
        spooled = min(run_producer(events, os.path.join(tmp, f"spool{i}"))[:2] for i in range(args.repeat))
    rows.append(("nicelist Producer, spool on (fsync interval)", *spooled))

    print(f"\n{'path':58} {'events/s':>10} {'us/event':>9} {'x base':>7} {'wire B/ev':>9} {'/body':>6} {'/single':>7}")
    base_rate = n / baseline_best[0]
    for label, seconds, wire in rows:
        rate = n / seconds
        print(
            f"{label:58} {rate:10,.0f} {seconds / n * 1e6:9.2f} {rate / base_rate:7.2f} {wire / n:9.1f} "
            f"{wire / body_bytes:6.3f} {wire / single_bytes:7.3f}"
        )
    print("\nwire bytes = PutRecords Data + PartitionKey; /body = per Avro body byte, /single = per single-object byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
