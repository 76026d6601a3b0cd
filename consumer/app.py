"""Wiring: a processor with its boto3 clients, from a :class:`ProcessorConfig`."""

from __future__ import annotations

from typing import Any

from .config import ProcessorConfig
from .processor import NicelistProcessor
from .sinks import DynamoDBSink, S3Archive

#: The sinks retry themselves (consumer.retry); botocore makes exactly one attempt per call.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 30,
}


def build_processor(config: ProcessorConfig) -> NicelistProcessor:
    dynamodb = config.aws.client(
        "dynamodb",
        max_pool_connections=max(10, config.dynamodb_threads + 2, config.dynamodb_batches_in_flight + 2),
        parameter_validation=config.dynamodb_parameter_validation,
        **_CLIENT_OPTIONS,
    )
    s3 = config.aws.client("s3", **_CLIENT_OPTIONS)
    return NicelistProcessor(
        config=config,
        dynamodb=DynamoDBSink(
            dynamodb,
            config.names.table,
            write_path=config.dynamodb_write_path,
            threads=config.dynamodb_threads,
            batches_in_flight=config.dynamodb_batches_in_flight,
            retry=config.sink_retry,
        ),
        archive=S3Archive(s3, config.names.bucket, retry=config.sink_retry),
    )
