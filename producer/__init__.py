"""Producer SDK embedded in elf apps: behaviour events to Kinesis, never silently lost.

from producer import Producer, ProducerConfig

with Producer(ProducerConfig(stream_name="nicelist")) as p:
    future = p.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
    receipt = future.result()  # Receipt(shard_id, sequence_number, subsequence_number), or raises

In asyncio code, the same producer without blocking the loop:

async with AsyncProducer(ProducerConfig(stream_name="nicelist")) as p:
    future = await p.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
    receipt = await future
"""

import logging

from ._async import AsyncProducer
from ._config import DEFAULT_SPOOL_DIR, ProducerConfig, default_spool_dir
from ._errors import (
    BufferFullError,
    DeliveryFailedError,
    NotDeliveredError,
    ProducerClosedError,
    ProducerError,
    ProducerForkedError,
    SpoolError,
    SpoolFullError,
    SpoolIOError,
    SpoolLockedError,
    SpoolPermissionError,
    SpoolStreamMismatchError,
    ValidationError,
)
from ._metrics import ProducerMetrics
from ._pending import DeliveryFuture, Receipt
from ._producer import Producer
from ._spool import FsyncPolicy

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_SPOOL_DIR",
    "AsyncProducer",
    "BufferFullError",
    "DeliveryFailedError",
    "DeliveryFuture",
    "FsyncPolicy",
    "NotDeliveredError",
    "Producer",
    "ProducerClosedError",
    "ProducerConfig",
    "ProducerError",
    "ProducerMetrics",
    "ProducerForkedError",
    "Receipt",
    "SpoolError",
    "SpoolFullError",
    "SpoolIOError",
    "SpoolLockedError",
    "ValidationError",
    "SpoolPermissionError",
    "SpoolStreamMismatchError",
    "default_spool_dir",
]
