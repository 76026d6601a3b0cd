"""The two places events become durable: the kid table (DynamoDB) and the archive (S3)."""

from .dynamodb import DynamoDBSink, WriteSummary
from .s3 import S3Archive

__all__ = ["DynamoDBSink", "S3Archive", "WriteSummary"]
