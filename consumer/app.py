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


def client_options(config: ProcessorConfig, service: str) -> dict[str, Any]:
    """botocore ``Config`` options of the processor's client for ``service`` ("dynamodb" or "s3")."""
    if service == "dynamodb":
        return {
            **_CLIENT_OPTIONS,
            "max_pool_connections": max(10, config.dynamodb_threads + 2, config.dynamodb_batches_in_flight + 2),
            "parameter_validation": config.dynamodb_parameter_validation,
        }
    return dict(_CLIENT_OPTIONS)


def build_sinks(config: ProcessorConfig, dynamodb_client: Any, s3_client: Any) -> tuple[DynamoDBSink, S3Archive]:
    """The kid table and archive sinks on the given clients (the benchmark passes its own)."""
    dynamodb = DynamoDBSink(
        dynamodb_client,
        config.names.table,
        write_path=config.dynamodb_write_path,
        threads=config.dynamodb_threads,
        batches_in_flight=config.dynamodb_batches_in_flight,
        prebuilt_json=config.dynamodb_prebuilt_json,
        retry=config.sink_retry,
    )
    return dynamodb, S3Archive(s3_client, config.names.bucket, retry=config.sink_retry)


def build_processor(config: ProcessorConfig) -> NicelistProcessor:
    dynamodb, archive = build_sinks(
        config,
        config.aws.client("dynamodb", **client_options(config, "dynamodb")),
        config.aws.client("s3", **client_options(config, "s3")),
    )
    return NicelistProcessor(config=config, dynamodb=dynamodb, archive=archive)
