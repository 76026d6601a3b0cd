"""Avro schemas of nicelist and the codec for behaviour events.

Every version ever published lives in ``schemas/avro/``; see :mod:`schemas._registry`.
"""

from ._codec import HEADER_BYTES, MAGIC, MAX_EVENT_BYTES, BehaviourEventCodec, decode_event, encode_event
from ._errors import (
    CorruptBodyError,
    DecodeError,
    NotSingleObjectError,
    SchemaError,
    UnknownSchemaError,
    ValidationError,
)
from ._fingerprint import crc64_avro, fingerprint_bytes
from ._registry import (
    ARCHIVED_EVENT,
    BEHAVIOUR_EVENT,
    DEAD_LETTER,
    SchemaVersion,
    all_versions,
    latest,
    versions_of,
)
from ._validate import BEHAVIOURS, DEFAULT_MAX_FUTURE_SKEW_MS, dynamodb_number_problem, to_epoch_ms, validate_event

__all__ = [
    "ARCHIVED_EVENT",
    "BEHAVIOURS",
    "BEHAVIOUR_EVENT",
    "DEFAULT_MAX_FUTURE_SKEW_MS",
    "DEAD_LETTER",
    "HEADER_BYTES",
    "MAGIC",
    "MAX_EVENT_BYTES",
    "BehaviourEventCodec",
    "CorruptBodyError",
    "DecodeError",
    "NotSingleObjectError",
    "SchemaError",
    "SchemaVersion",
    "UnknownSchemaError",
    "ValidationError",
    "all_versions",
    "crc64_avro",
    "decode_event",
    "dynamodb_number_problem",
    "encode_event",
    "fingerprint_bytes",
    "latest",
    "to_epoch_ms",
    "validate_event",
    "versions_of",
]
