"""Throughput of the local stack's Kinesis, with and without the record-index fix (not a test).

    python -m tests.localaws.bench_kinesis --batches 40 [--no-kinesis-fixes]

PutRecords of 500 x ~130-byte records into one shard, timed per tenth of the run (so O(n)
growth shows), then GetRecords of everything with Limit 10,000 from TRIM_HORIZON.
"""

from __future__ import annotations

import argparse
import os
import time

from foundation.limits import KINESIS_MAX_RECORDS_PER_GET, KINESIS_MAX_RECORDS_PER_PUT
from localaws import LocalAWS, StackConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--record-bytes", type=int, default=130)
    parser.add_argument("--no-kinesis-fixes", action="store_true")
    args = parser.parse_args()
    config = StackConfig(kinesis_fixes=not args.no_kinesis_fixes)
    with LocalAWS.start(config=config) as stack:
        kinesis = stack.client("kinesis")
        kinesis.create_stream(StreamName="bench", ShardCount=1)
        payload = os.urandom(args.record_bytes)
        entries = [{"Data": payload, "PartitionKey": f"k{i}"} for i in range(KINESIS_MAX_RECORDS_PER_PUT)]
        tenth = max(1, args.batches // 10)
        started = time.perf_counter()
        window = started
        for batch in range(1, args.batches + 1):
            assert kinesis.put_records(StreamName="bench", Records=entries)["FailedRecordCount"] == 0
            if batch % tenth == 0:
                now = time.perf_counter()
                rate = tenth * KINESIS_MAX_RECORDS_PER_PUT / (now - window)
                print(f"put: {batch * KINESIS_MAX_RECORDS_PER_PUT:>8} records stored, {rate:8.0f} records/s")
                window = now
        total = args.batches * KINESIS_MAX_RECORDS_PER_PUT
        print(f"put total: {total / (time.perf_counter() - started):.0f} records/s")

        shard = kinesis.list_shards(StreamName="bench")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName="bench", ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        read, started = 0, time.perf_counter()
        while read < total:
            response = kinesis.get_records(ShardIterator=iterator, Limit=KINESIS_MAX_RECORDS_PER_GET)
            read += len(response["Records"])
            iterator = response["NextShardIterator"]
        print(f"get: {read} records, {read / (time.perf_counter() - started):.0f} records/s")
        tail, started = 0, time.perf_counter()
        for _ in range(20):  # a caught-up reader polling the tip of a full shard
            tail += len(kinesis.get_records(ShardIterator=iterator, Limit=KINESIS_MAX_RECORDS_PER_GET)["Records"])
        print(f"get at the tip: {20 / (time.perf_counter() - started):.0f} calls/s")


if __name__ == "__main__":
    main()
