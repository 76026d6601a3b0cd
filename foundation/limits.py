"""AWS service limits nicelist designs around, each with where it comes from.

Nothing else in the code base spells these numbers.
"""

from __future__ import annotations

from decimal import Decimal

MiB = 1024 * 1024

# --- Kinesis Data Streams: https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
#: PutRecords: at most 500 records per request (API reference, PutRecords).
KINESIS_MAX_RECORDS_PER_PUT = 500
#: PutRecords: at most 5 MiB per request, partition keys included (API reference, PutRecords).
KINESIS_MAX_BYTES_PER_PUT = 5 * MiB
#: One record's data blob plus partition key: at most 1 MiB (service limits).
KINESIS_MAX_RECORD_BYTES = 1 * MiB
#: Partition key: 1 to 256 Unicode characters (API reference, PutRecordsRequestEntry).
KINESIS_MAX_PARTITION_KEY_CHARS = 256
#: Writes per shard: 1 MiB/s and 1,000 records/s (service limits).
KINESIS_SHARD_WRITE_BYTES_PER_SEC = 1 * MiB
KINESIS_SHARD_WRITE_RECORDS_PER_SEC = 1000
#: Reads per shard (shared throughput): 2 MiB/s and 5 GetRecords calls/s (service limits).
KINESIS_SHARD_READ_BYTES_PER_SEC = 2 * MiB
KINESIS_SHARD_READ_CALLS_PER_SEC = 5
#: GetRecords: at most 10,000 records per call (API reference, GetRecords).
KINESIS_MAX_RECORDS_PER_GET = 10_000
#: GetRecords: at most 10 MiB per call; a shard that returned more than its 2 MiB/s throttles
#: reads until the average is back under it (API reference, GetRecords).
KINESIS_MAX_BYTES_PER_GET = 10 * MiB
#: Hash key space of a stream: 0 .. 2**128 - 1 (MD5 of the partition key).
KINESIS_HASH_KEY_MAX = 2**128 - 1
#: UpdateShardCount: at most double, at least half the current open shards per call; at most
#: 10 calls per rolling 24 hours; at most 10,000 shards per stream via this API (API reference).
UPDATE_SHARD_COUNT_MAX_FACTOR = 2
UPDATE_SHARD_COUNT_CALLS_PER_24H = 10
UPDATE_SHARD_COUNT_MAX_SHARDS = 10_000

# --- DynamoDB: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
#: BatchWriteItem: at most 25 put or delete requests per call (API reference).
DYNAMODB_MAX_ITEMS_PER_BATCH_WRITE = 25
#: One item: at most 400 KB, attribute names included (service quotas).
DYNAMODB_MAX_ITEM_BYTES = 400 * 1024
#: On-demand table: 40,000 write request units per second by default, an adjustable quota
#: ("Throughput default quotas", per table; "DynamoDB maximum throughput for on-demand tables").
DYNAMODB_ON_DEMAND_TABLE_WRITE_UNITS_PER_SEC = 40_000
#: A new on-demand table serves up to 4,000 write request units per second at once (its default
#: warm throughput; more after a peak or with WarmThroughput). "DynamoDB on-demand capacity mode",
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
DYNAMODB_ON_DEMAND_INITIAL_WRITE_UNITS_PER_SEC = 4_000
#: One partition serves at most 1,000 write units per second.
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html
DYNAMODB_PARTITION_WRITE_UNITS_PER_SEC = 1_000
#: One write unit per 1 KB of item size, rounded up.
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html
DYNAMODB_WRITE_UNIT_BYTES = 1024
#: Key values: a partition key 1 to 2,048 bytes, a sort key 1 to 1,024 bytes (UTF-8 for strings).
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-partition-sort-keys
DYNAMODB_MAX_PARTITION_KEY_BYTES = 2048
DYNAMODB_MAX_SORT_KEY_BYTES = 1024
#: Number (N): up to 38 significant digits; positive 1E-130 to 9.9999999999999999999999999999999999999E+125,
#: negative the same magnitudes, and zero. Anything else is refused with a ValidationException.
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html (Number)
#: and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-data-types
DYNAMODB_NUMBER_MAX_DIGITS = 38
DYNAMODB_NUMBER_MIN_MAGNITUDE = Decimal("1E-130")
DYNAMODB_NUMBER_MAX_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")
#: Strings (S) are Unicode with UTF-8 encoding: text with a lone surrogate cannot be sent at all.
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html (String)
#: BatchExecuteStatement: at most 25 statements per call, all reads or all writes (API reference,
#: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchExecuteStatement.html).
DYNAMODB_MAX_STATEMENTS_PER_BATCH_EXECUTE = 25
#: The Number magnitude bounds above as powers of ten.
DYNAMODB_NUMBER_MIN_EXPONENT = -130
DYNAMODB_NUMBER_MAX_EXPONENT = 125

# --- S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
#: A single PutObject: at most 5 GiB; object keys at most 1,024 bytes of UTF-8.
S3_MAX_PUT_OBJECT_BYTES = 5 * 1024 * MiB
S3_MAX_KEY_BYTES = 1024

# --- CloudWatch: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html
#: PutMetricData: at most 1,000 metrics (datums) per request and 1 MB per request (API reference).
CLOUDWATCH_MAX_DATUMS_PER_PUT = 1000
#: PutMetricData: at most 150 distinct values in one datum's ``Values``/``Counts`` arrays.
CLOUDWATCH_MAX_VALUES_PER_DATUM = 150
#: GetMetricData: at most 500 metric data queries per request (API reference).
CLOUDWATCH_MAX_QUERIES_PER_GET = 500
