"""The KCL worker: record processors (``python -m consumer``) and their launcher (:mod:`consumer.daemon`).

Pure parts (no AWS): :mod:`consumer.records` (decoding and deaggregation), :mod:`consumer.dedupe`
(latest event per kid), :mod:`consumer.archive` (partitions, object keys, Avro files),
:mod:`consumer.checkpoints`. AWS calls: :mod:`consumer.sinks`. The KCL hooks:
:mod:`consumer.processor`. Heavy modules (amazon_kclpy, fastavro) load only when used.
"""

from ._errors import (
    AggregationError,
    CheckpointFailedError,
    ConfigError,
    ConsumerError,
    SinkAbandonedError,
    SinkError,
    SinkUnavailableError,
    WrongTableError,
)
from .config import ProcessorConfig
from .retry import RetryPolicy

__all__ = [
    "AggregationError",
    "CheckpointFailedError",
    "ConfigError",
    "ConsumerError",
    "ProcessorConfig",
    "RetryPolicy",
    "SinkAbandonedError",
    "SinkError",
    "SinkUnavailableError",
    "WrongTableError",
]
