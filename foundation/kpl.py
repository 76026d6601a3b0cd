"""Constants of the KPL aggregated record format, shared by the producer (writes it), the consumer
(reads whole aggregates) and the reshard planner (sizes it).

Format (amazon-kinesis-producer, ``aggregation-format.md``): the magic ``F3 89 9A C2``, a protobuf
``AggregatedRecord``, then the 16-byte MD5 digest of that protobuf.
"""

from __future__ import annotations

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_BYTES = 16
#: The KPL's default AggregationMaxSize: big enough that framing is noise, small enough that one
#: aggregated record never hogs a shard's 1 MiB/s. A format choice, not a service limit.
DEFAULT_AGGREGATE_BYTES = 51_200
