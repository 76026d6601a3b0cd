"""The two places events become durable: the kid table (DynamoDB) and the archive (S3)."""

from ._pacing import PacingStats
from .dynamodb import BATCH_STATEMENT, PUT_ITEM, WRITE_PATHS, DynamoDBSink, Refusal, WriteSummary
from .s3 import S3Archive

__all__ = [
    "BATCH_STATEMENT",
    "PUT_ITEM",
    "WRITE_PATHS",
    "DynamoDBSink",
    "PacingStats",
    "Refusal",
    "S3Archive",
    "WriteSummary",
]
