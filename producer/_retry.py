"""Which PutRecords errors are worth retrying, and how long to wait (pure).

Throttling and transient server or connection trouble are retried forever by default: during
the December spike the stream is throttled for hours and an accepted event must not expire.
Anything else (access denied, a missing stream, a KMS key problem, a request Kinesis calls
invalid) is retried a bounded number of times, because some of those heal (IAM propagation, a
stream still being created) but most do not, and the app must get the event back.
"""

from __future__ import annotations

from foundation.aws_errors import THROTTLE_CODES, TRANSIENT_CODES, ErrorKind, classify
from foundation.backoff import Backoff

__all__ = ["THROTTLE_CODES", "TRANSIENT_CODES", "Backoff", "ErrorKind", "classify"]
