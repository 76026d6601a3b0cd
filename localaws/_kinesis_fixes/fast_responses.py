"""PutRecords and GetRecords answered with plain ``json.dumps`` instead of moto's shape walker.

moto 5.2.5 serialises every response by walking the botocore output shape value by value;
for a 500-record PutRecords or a 10,000-record GetRecords that walk is 70-95% of the call.
For JSON-protocol requests (boto3, and the KCL with ``-Daws.cborEnabled=false``) these two
operations build the same document directly: record data is already base64 in moto's
store, timestamps are epoch seconds. CBOR requests keep moto's serialiser.
"""

from __future__ import annotations

import json
from typing import Any

from ._patching import patch

_PATCHED = "_localaws_fast_responses"
_JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


def _speaks_json(response: Any) -> bool:
    return str(response.headers.get("Content-Type", "")).startswith("application/x-amz-json")


def _record(record: Any) -> dict[str, Any]:
    return {
        "Data": record.data,  # base64 text, as the JSON protocol carries blobs
        "PartitionKey": record.partition_key,
        "SequenceNumber": str(record.sequence_number),
        "ApproximateArrivalTimestamp": round(record.created_at, 3),
    }


def apply() -> None:
    from moto.kinesis.responses import KinesisResponse

    if getattr(KinesisResponse, _PATCHED, False):
        return
    shaped_get_records = KinesisResponse.get_records
    shaped_put_records = KinesisResponse.put_records

    def get_records(self: Any) -> Any:
        if not _speaks_json(self):
            return shaped_get_records(self)
        next_iterator, records, millis_behind_latest, children = self.kinesis_backend.get_records_or_end(
            self._get_param("StreamARN"), self._get_param("ShardIterator"), self._get_param("Limit")
        )
        document: dict[str, Any] = {
            "Records": [_record(record) for record in records],
            "MillisBehindLatest": millis_behind_latest,
        }
        if next_iterator is None:
            document["ChildShards"] = children
        else:
            document["NextShardIterator"] = next_iterator
        return json.dumps(document), {"Content-Type": _JSON_CONTENT_TYPE}

    def put_records(self: Any) -> Any:
        if not _speaks_json(self):
            return shaped_put_records(self)
        document = self.kinesis_backend.put_records(
            self._get_param("StreamARN"), self._get_param("StreamName"), self._get_param("Records")
        )
        return json.dumps(document), {"Content-Type": _JSON_CONTENT_TYPE}

    patch(KinesisResponse, "get_records", get_records)
    patch(KinesisResponse, "put_records", put_records)
    patch(KinesisResponse, _PATCHED, True)
