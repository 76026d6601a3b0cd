"""Producer SDK embedded in elf apps: behaviour events to Kinesis, never silently lost.

from producer import Producer, ProducerConfig

with Producer(ProducerConfig(stream_name="nicelist")) as p:
    future = p.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
    receipt = future.result()  # Receipt(shard_id, sequence_number, subsequence_number), or raises
"""

import logging

from ._config import AUTO, ProducerConfig, default_spool_dir
from ._errors import (
    BufferFullError,
    DeliveryFailedError,
    ProducerClosedError,
    ProducerError,
    ProducerForkedError,
    SpoolError,
    SpoolFullError,
    SpoolIOError,
    SpoolLockedError,
    SpoolPermissionError,
    SpoolStreamMismatchError,
)
from ._pending import DeliveryFuture, Receipt
from ._producer import Producer
from ._spool import FsyncPolicy

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AUTO",
    "BufferFullError",
    "DeliveryFailedError",
    "DeliveryFuture",
    "FsyncPolicy",
    "Producer",
    "ProducerClosedError",
    "ProducerConfig",
    "ProducerError",
    "ProducerForkedError",
    "Receipt",
    "SpoolError",
    "SpoolFullError",
    "SpoolIOError",
    "SpoolLockedError",
    "SpoolPermissionError",
    "SpoolStreamMismatchError",
    "default_spool_dir",
]
