"""One PutRecords call and an honest reading of its answer.

The only module of the producer that talks to AWS. It never trusts an HTTP 200: every entry of
the response is read, and an answer that does not account for every record marks the missing
ones as failed (``MalformedResponse``, retried).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from foundation.aws_errors import error_code, error_message, http_status

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    shard_id: str
    sequence_number: str


@dataclass(frozen=True, slots=True)
class Refused:
    error_code: str
    message: str
    http_status: int | None = None
    whole_call: bool = False


Outcome = Accepted | Refused


class KinesisSender:
    """Sends ``(data, partition_key)`` entries with PutRecords on an injected boto3 Kinesis client."""

    def __init__(self, client: Any, stream_name: str) -> None:
        self._client = client
        self._stream_name = stream_name

    def put_records(self, entries: Sequence[tuple[bytes, str]]) -> list[Outcome]:
        """One outcome per entry, in order. Never raises for AWS or network trouble."""
        if not entries:
            return []
        try:
            response = self._client.put_records(
                StreamName=self._stream_name,
                Records=[{"Data": data, "PartitionKey": key} for data, key in entries],
            )
        except ClientError as exc:
            status = http_status(exc)
            code = error_code(exc) or f"HTTP{status}"
            return self._all_refused(entries, code, error_message(exc), status)
        except (ConnectionError, HTTPClientError) as exc:
            return self._all_refused(entries, "ConnectionError", repr(exc), None)
        except BotoCoreError as exc:
            # e.g. a response botocore cannot parse; nothing says the records were stored
            return self._all_refused(entries, type(exc).__name__, repr(exc), None)
        return self._read(entries, response)

    @staticmethod
    def _all_refused(entries: Sequence[Any], code: str, message: str, status: int | None) -> list[Outcome]:
        logger.debug("PutRecords of %s records failed as a whole: %s %s", len(entries), code, message)
        refused = Refused(code, message, status, whole_call=True)
        return [refused] * len(entries)

    @staticmethod
    def _read(entries: Sequence[Any], response: Any) -> list[Outcome]:
        records = response.get("Records") if isinstance(response, dict) else None
        if not isinstance(records, list):
            records = []
        outcomes: list[Outcome] = []
        failed = 0
        for i in range(len(entries)):
            entry = records[i] if i < len(records) else None
            if not isinstance(entry, dict):
                outcomes.append(Refused("MalformedResponse", f"no result for record {i} of {len(entries)}"))
                failed += 1
            elif entry.get("ErrorCode"):
                outcomes.append(Refused(str(entry["ErrorCode"]), str(entry.get("ErrorMessage", ""))))
                failed += 1
            elif entry.get("SequenceNumber") and entry.get("ShardId"):
                outcomes.append(Accepted(str(entry["ShardId"]), str(entry["SequenceNumber"])))
            else:
                outcomes.append(Refused("MalformedResponse", f"result {i} has neither an error nor a sequence number"))
                failed += 1
        declared = response.get("FailedRecordCount") if isinstance(response, dict) else None
        if len(records) != len(entries) or declared != failed:
            logger.warning(
                "PutRecords answered %s results for %s records, FailedRecordCount %s, %s failures found",
                len(records),
                len(entries),
                declared,
                failed,
            )
        return outcomes
