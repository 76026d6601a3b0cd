"""Every metric nicelist publishes: names, units, dimensions. Nothing else spells them.

All of them go to the CloudWatch namespace :data:`NAMESPACE`. Worker metrics carry
``Application`` (the KCL application) and, per shard, ``ShardId`` as well: each processor sends
every datum twice, once per shard and once for the application as a whole, so an alarm can watch
the application without knowing the shards. Producer metrics carry ``Stream``.

Counters are sums over the publishing period (read them with ``Sum``); gauges are sampled
(``Maximum``/``Average``); :data:`PUT_TO_ITEM_LATENCY` is a distribution (``Values``/``Counts``)
so CloudWatch computes percentiles over any set of shards (``p50``/``p99``), and
:data:`PUT_TO_ITEM_LATENCY_P50`/``_P99`` are the processor's own percentiles per period (for
readers without percentile statistics, e.g. the embedded stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NAMESPACE = "nicelist"

# --- dimensions ---------------------------------------------------------------------------------
APPLICATION = "Application"
SHARD_ID = "ShardId"
STREAM = "Stream"


class Kind(Enum):
    COUNTER = "counter"  # a sum over the period
    GAUGE = "gauge"  # samples: min/max/sum/count over the period
    DISTRIBUTION = "distribution"  # every value, as Values/Counts


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    kind: Kind
    #: one line: what it counts
    meaning: str


def _counter(name: str, meaning: str) -> Metric:
    return Metric(name, "Count", Kind.COUNTER, meaning)


# --- worker (one record processor per shard lease) -----------------------------------------------
RECORDS_PROCESSED = _counter("RecordsProcessed", "Kinesis (user) records delivered by the KCL")
EVENTS_PROCESSED = _counter("EventsProcessed", "valid behaviour events decoded")
DEAD_LETTERS = _counter("DeadLetters", "undecodable records stored under dead-letter/")
ITEMS_WRITTEN = _counter("ItemsWritten", "kid items written to DynamoDB")
ITEMS_SUPERSEDED = _counter("ItemsSuperseded", "kid items not written: the stored event was newer")
ARCHIVE_FILES = _counter("ArchiveFiles", "Avro files archived to S3")
CHECKPOINTS = _counter("Checkpoints", "checkpoints taken")
DYNAMODB_RETRIES = _counter("DynamoDBRetries", "DynamoDB calls that failed retryably (throttling, 5xx, connection)")
DYNAMODB_THROTTLES = _counter("DynamoDBThrottles", "DynamoDB calls refused by throttling")
S3_RETRIES = _counter("S3Retries", "S3 calls that failed retryably (SlowDown, 5xx, connection)")
S3_THROTTLES = _counter("S3Throttles", "S3 calls refused by throttling (SlowDown, 503)")
PROCESSOR_STOPPED = _counter(
    "ProcessorStopped", "processors that gave up on a sink error (exit 70; the worker restarts them)"
)
WORKER_HEARTBEAT = _counter(
    "WorkerHeartbeat", "1 per processor per publishing period (once a minute): its absence means nobody consumes"
)
METRICS_PUBLISH_FAILURES = _counter("MetricsPublishFailures", "PutMetricData calls that failed (earlier periods)")
UNCHECKPOINTED_RECORDS = Metric(
    "UncheckpointedRecords", "Count", Kind.GAUGE, "records delivered but not yet checkpointed"
)
MILLIS_BEHIND_LATEST = Metric(
    "MillisBehindLatest", "Milliseconds", Kind.GAUGE, "how far the shard's reader is behind its tip (from the KCL)"
)
PUT_TO_ITEM_LATENCY = Metric(
    "PutToItemLatency", "Milliseconds", Kind.DISTRIBUTION, "event observed_at to its kid item written"
)
PUT_TO_ITEM_LATENCY_P50 = Metric(
    "PutToItemLatencyP50", "Milliseconds", Kind.GAUGE, "median of PutToItemLatency over the period"
)
PUT_TO_ITEM_LATENCY_P99 = Metric(
    "PutToItemLatencyP99", "Milliseconds", Kind.GAUGE, "99th percentile of PutToItemLatency over the period"
)
# the kid-table writer riding out DynamoDB throttling (consumer.sinks._pacing)
DYNAMODB_THROTTLED_STATEMENTS = _counter(
    "DynamoDBThrottledStatements", "kid-table write statements throttled (each sent again until written)"
)
DYNAMODB_THROTTLE_WAIT = Metric(
    "DynamoDBThrottleWaitSeconds", "Seconds", Kind.COUNTER, "seconds the kid-table writer waited out throttling"
)
DYNAMODB_CALLS_IN_FLIGHT = Metric(
    "DynamoDBCallsInFlight", "Count", Kind.GAUGE, "BatchExecuteStatement calls the writer allows in flight now"
)
WRITE_STATEMENTS_PER_KID = Metric(
    "WriteStatementsPerKid", "None", Kind.GAUGE, "write statements the table answered per kid written or superseded"
)

WORKER_METRICS = (
    RECORDS_PROCESSED,
    EVENTS_PROCESSED,
    DEAD_LETTERS,
    ITEMS_WRITTEN,
    ITEMS_SUPERSEDED,
    ARCHIVE_FILES,
    CHECKPOINTS,
    DYNAMODB_RETRIES,
    DYNAMODB_THROTTLES,
    S3_RETRIES,
    S3_THROTTLES,
    PROCESSOR_STOPPED,
    WORKER_HEARTBEAT,
    METRICS_PUBLISH_FAILURES,
    UNCHECKPOINTED_RECORDS,
    MILLIS_BEHIND_LATEST,
    PUT_TO_ITEM_LATENCY,
    PUT_TO_ITEM_LATENCY_P50,
    PUT_TO_ITEM_LATENCY_P99,
    DYNAMODB_THROTTLED_STATEMENTS,
    DYNAMODB_THROTTLE_WAIT,
    DYNAMODB_CALLS_IN_FLIGHT,
    WRITE_STATEMENTS_PER_KID,
)
#: the dimension sets every worker metric is published with
WORKER_DIMENSIONS = ((APPLICATION,), (APPLICATION, SHARD_ID))

# --- producer (opt-in: ProducerConfig.metrics_interval_s) ---------------------------------------
PRODUCER_ACCEPTED = _counter("ProducerAccepted", "events put() accepted")
PRODUCER_DELIVERED = _counter("ProducerDelivered", "events Kinesis acknowledged")
PRODUCER_THROTTLED = _counter("ProducerThrottled", "aggregated records refused by throttling")
PRODUCER_RETRIED = _counter("ProducerRetried", "aggregated records sent again")
PRODUCER_FAILED = _counter("ProducerFailed", "events handed back as failed")
PRODUCER_BUFFERED_BYTES = Metric("ProducerBufferedBytes", "Bytes", Kind.GAUGE, "accepted bytes held in memory")
PRODUCER_SPOOL_BYTES = Metric("ProducerSpoolBytes", "Bytes", Kind.GAUGE, "bytes in the on-disk spool")
PRODUCER_SPOOL_EVENTS_LOST = _counter("SpoolEventsLost", "events lost to damage found in a producer's spool at start")

PRODUCER_METRICS = (
    PRODUCER_ACCEPTED,
    PRODUCER_DELIVERED,
    PRODUCER_THROTTLED,
    PRODUCER_RETRIED,
    PRODUCER_FAILED,
    PRODUCER_BUFFERED_BYTES,
    PRODUCER_SPOOL_BYTES,
    PRODUCER_SPOOL_EVENTS_LOST,
)
PRODUCER_DIMENSIONS = ((STREAM,),)

#: (metric name, dimension names) of everything published to :data:`NAMESPACE`
PUBLISHED: frozenset[tuple[str, tuple[str, ...]]] = frozenset(
    {(m.name, dims) for m in WORKER_METRICS for dims in WORKER_DIMENSIONS}
    | {(m.name, dims) for m in PRODUCER_METRICS for dims in PRODUCER_DIMENSIONS}
)
