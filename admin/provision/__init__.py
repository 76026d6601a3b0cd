"""Create the pipeline's stream, kid table and archive bucket, idempotently.

``provision(aws, names, shards)`` works the same against the embedded stack, LocalStack or AWS:
endpoints come from :class:`foundation.settings.AwsSettings` (``--endpoint`` or the standard
``AWS_ENDPOINT_URL[_<SERVICE>]`` variables). Each resource is created only when missing, then
waited for (ACTIVE / exists) with a deadline; a second run changes nothing and says so. A stream
that exists with another shard count is reported and left alone: ``nicelist reshard`` changes it.

- stream: provisioned mode, ``shards`` shards; server-side encryption with KMS (the AWS managed
  key ``alias/aws/kinesis`` unless another key is given; opt out with ``stream_encryption=False``);
- table: hash key ``kid_id`` (S), on-demand (PAY_PER_REQUEST); DynamoDB encrypts at rest always;
  point-in-time recovery and deletion protection on (each can be opted out of); a warm write
  throughput when asked (``warm_write_units``: the peak ``nicelist reshard plan`` prints);
- the autoscaler's lock table ``<application>-autoscale-lock``: hash key ``stream`` (S), on-demand
  (one lease item per stream: one autoscaler at a time, see ``admin.autoscale``);
- bucket: default encryption (SSE-S3 AES256 unless a KMS key is given), all four public access
  blocks on, versioning on (opt-out), and a bucket policy that denies every request not sent over
  TLS (``aws:SecureTransport`` false), merged into any policy the bucket already has. Against a
  plain-HTTP endpoint (the embedded stack, LocalStack) that policy would lock everyone out (moto
  enforces it), so there it is skipped and a note says so.

Settings are applied to resources that already exist too, except that an opt-out never turns a
protection off (it only skips turning it on) and a stream encrypted with another key is left as
it is (a note says so).

Errors::

    ProvisionError
    ├── ResourceConflictError   a resource exists but cannot be ours (other key schema, bucket owned elsewhere)
    └── ProvisionTimeoutError   a resource did not become ACTIVE / visible before the deadline
"""

from ._base import (
    DEFAULT_STREAM_KMS_KEY,
    ProvisionConfig,
    ProvisionError,
    ProvisionReport,
    ProvisionTimeoutError,
    ResourceConflictError,
)
from ._bucket import (
    PUBLIC_ACCESS_BLOCK,
    TLS_ONLY_SID,
    ensure_bucket,
    ensure_bucket_versioning,
    ensure_tls_only,
    tls_only_statement,
)
from ._provision import provision
from ._stream import ensure_stream, ensure_stream_encryption
from ._table import (
    KID_TABLE_HASH_KEY,
    ensure_lock_table,
    ensure_table,
    ensure_table_protection,
    ensure_table_warm_throughput,
)

__all__ = [
    "DEFAULT_STREAM_KMS_KEY",
    "KID_TABLE_HASH_KEY",
    "PUBLIC_ACCESS_BLOCK",
    "TLS_ONLY_SID",
    "ProvisionConfig",
    "ProvisionError",
    "ProvisionReport",
    "ProvisionTimeoutError",
    "ResourceConflictError",
    "ensure_bucket",
    "ensure_bucket_versioning",
    "ensure_lock_table",
    "ensure_stream",
    "ensure_stream_encryption",
    "ensure_table",
    "ensure_table_protection",
    "ensure_table_warm_throughput",
    "ensure_tls_only",
    "provision",
    "tls_only_statement",
]
