"""Child process of test_crash: puts the events of a JSON file into a producer whose Kinesis is
unreachable, says so on stdout, then waits to be SIGKILLed."""

from __future__ import annotations

import json
import sys
import threading

from foundation.settings import AwsSettings
from producer import Producer, ProducerConfig


def main() -> None:
    events_file, spool_dir, endpoint = sys.argv[1:4]
    with open(events_file) as f:
        events = json.load(f)
    config = ProducerConfig(
        stream_name="nicelist-test",
        aws=AwsSettings(region="us-east-1", endpoint_url=endpoint),
        spool_dir=spool_dir,
        spool_segment_bytes=64 * 1024,
        linger_ms=5,
        backoff_base_ms=20,
        backoff_max_ms=100,
    )
    producer = Producer(config)
    for event in events:
        producer.put(event)
    sys.stdout.write(f"accepted {len(events)}\n")
    sys.stdout.flush()
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    main()
