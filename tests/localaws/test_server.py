"""The server: h2c with prior knowledge (what the KCL's Kinesis client speaks) and serialised requests."""

from __future__ import annotations

import shutil
import subprocess
import threading
from typing import Any

import pytest

from localaws import LocalAWS
from tests.localaws.kinesis_helpers import new_stream, read_shard, shards_by_id
from tests.stack import unique_name

_AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=x"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl with HTTP/2")
def test_kinesis_answers_over_h2c_with_prior_knowledge(local_aws: LocalAWS) -> None:
    result = subprocess.run(
        [
            "curl", "-sS", "--http2-prior-knowledge", "-w", "\\n%{http_version}", "-X", "POST",
            "-H", "X-Amz-Target: Kinesis_20131202.ListStreams",
            "-H", "Content-Type: application/x-amz-json-1.1",
            "-H", f"Authorization: {_AUTH}",
            "-d", "{}", f"{local_aws.endpoint_url}/",
        ],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    body, version = result.stdout.rsplit("\n", 1)
    assert version == "2"
    assert '"StreamNames"' in body


def test_concurrent_writers_lose_nothing(local_aws: LocalAWS) -> None:
    stream = new_stream(local_aws.client("kinesis"), 1)
    (shard,) = shards_by_id(local_aws.client("kinesis"), stream)
    receipts: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(tag: int) -> None:
        kinesis = local_aws.client("kinesis")
        try:
            for batch in range(10):
                records = [{"Data": f"{tag}-{batch}-{i}".encode(), "PartitionKey": f"{i}"} for i in range(100)]
                response = kinesis.put_records(StreamName=stream, Records=records)
                assert response["FailedRecordCount"] == 0
                with lock:
                    receipts.extend(r["SequenceNumber"] for r in response["Records"])
        except BaseException as exc:
            errors.append(exc)

    def reader(stop: threading.Event) -> None:
        kinesis = local_aws.client("kinesis")
        try:
            while not stop.is_set():
                read_shard(kinesis, stream, shard)
        except BaseException as exc:
            errors.append(exc)

    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    readers = [threading.Thread(target=reader, args=(stop,))]
    for thread in threads + readers:
        thread.start()
    for thread in threads:
        thread.join(120)
    stop.set()
    for thread in readers:
        thread.join(120)
    assert not errors
    stored = read_shard(local_aws.client("kinesis"), stream, shard)["records"]
    assert len(receipts) == len(set(receipts)) == 4000
    assert sorted(int(r["SequenceNumber"]) for r in stored) == list(range(1, 4001))
    assert {r["SequenceNumber"] for r in stored} == set(receipts)


def test_large_s3_objects_fit_in_one_request(aws_client: Any) -> None:
    s3 = aws_client("s3")
    bucket = unique_name("large")
    s3.create_bucket(Bucket=bucket)
    body = b"a" * (20 * 1024 * 1024)  # above hypercorn's 16 MiB WSGI default
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == len(body)
