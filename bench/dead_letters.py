"""Dead letters of records of many parts (issue 21): ``python -m bench.dead_letters [--json]``.

The worker's dead-letter path for ``--records`` Kinesis records of ``--parts`` refused user
records each (the issue's case: ten 1 MiB KPL aggregates of 174,752 empty user records, which
the KCL deaggregates into 1.75 M user records of one ``process_records`` call): decode every user
record, group the refused ones into one dead-letter file per Kinesis record, encode each file's
Avro body as the S3 sink uploads it (at most ``--in-flight`` bodies alive at once, the sink's
thread pool).

Beside it, in the same run and on the same records, the baseline: the code before issue 21,
kept here verbatim in spirit (a row dict per part, sorted lists of them per file, fastavro's
generic writer, every file's body and rows built before the first upload, a new reason string
per part). Figures: CPU seconds (``time.process_time``) and the peak of memory traced by
``tracemalloc`` above what the delivered records already hold. The records themselves (what
the processor receives) are built before either measurement and are not counted.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

SHARD_ID = "shardId-000000000000"
FAILED_AT_MS = 1_766_448_001_000


def make_records(records: int, parts: int) -> list[Any]:
    """``records`` Kinesis records deaggregated into ``parts`` empty user records each."""
    from consumer.records import KinesisRecord

    out = []
    for n in range(records):
        sequence = str(49_000_000_000_000_000_000_000_000_000_000_000_000_000_000 + n * 1_000)
        out += [KinesisRecord(SHARD_ID, sequence, i, f"pk-{n}", 1_766_448_000_000 + n, b"") for i in range(parts)]
    return out


def current(records: list[Any], in_flight: int) -> int:
    """Today's path: decode, dead_letter_files, bodies encoded as uploaded. Bytes encoded."""
    from consumer.archive import dead_letter_files
    from consumer.records import Undecodable, decode
    from schemas import BehaviourEventCodec

    codec = BehaviourEventCodec()
    dead = [o for r in records for o in decode(r, codec) if isinstance(o, Undecodable)]
    files = dead_letter_files(dead, FAILED_AT_MS)
    total = 0
    for start in range(0, len(files), in_flight):
        bodies = [f.body for f in files[start : start + in_flight]]  # the sink's pool holds this many
        total += sum(len(b) for b in bodies)
    return total


def baseline(records: list[Any], in_flight: int) -> int:
    """The path before issue 21 (see the module docstring). Bytes encoded."""
    from consumer.archive import dead_letter_row, encode_rows
    from consumer.records import Undecodable, decode
    from schemas import DEAD_LETTER, BehaviourEventCodec

    codec = BehaviourEventCodec()
    dead = []
    for r in records:
        for o in decode(r, codec):
            if isinstance(o, Undecodable):
                dead.append(Undecodable(o.record, o.reason.encode().decode()))  # a string per part, as before
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in dead:
        key = (item.record.shard_id, item.record.sequence_number)
        groups.setdefault(key, []).append(dead_letter_row(item, FAILED_AT_MS))
    files = []
    for rows in groups.values():
        kept = tuple(sorted(rows, key=lambda r: int(r["subsequence_number"])))
        files.append((kept, encode_rows(kept, DEAD_LETTER)))
    return sum(len(body) for _, body in files)


def measure(fn: Callable[[list[Any], int], int], records: list[Any], in_flight: int) -> dict[str, float]:
    """CPU seconds of one run untraced, then the traced peak of another (tracemalloc slows
    allocation-heavy code several times over, so CPU is never taken with it on)."""
    gc.collect()
    cpu = time.process_time()
    encoded = fn(records, in_flight)
    cpu = time.process_time() - cpu
    gc.collect()
    tracemalloc.start()
    start_traced, _ = tracemalloc.get_traced_memory()
    fn(records, in_flight)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"cpu_s": round(cpu, 2), "peak_mib": round((peak - start_traced) / 2**20, 1), "bytes": encoded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dead_letters", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--parts", type=int, default=174_752)
    parser.add_argument("--in-flight", type=int, default=4, help="bodies alive at once (the S3 sink's threads)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    records = make_records(args.records, args.parts)
    results = {
        "baseline": measure(baseline, records, args.in_flight),
        "current": measure(current, records, args.in_flight),
    }
    results["setup"] = {"records": args.records, "parts": args.parts, "in_flight": args.in_flight}  # type: ignore[dict-item]
    if args.json:
        print(json.dumps(results))
    else:
        print(f"{args.records} records x {args.parts} refused parts, {args.in_flight} bodies in flight")
        for name in ("baseline", "current"):
            r = results[name]
            print(f"  {name:9} CPU {r['cpu_s']:6.2f} s   peak traced {r['peak_mib']:8.1f} MiB   {r['bytes']} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
