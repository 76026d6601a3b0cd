"""``nicelist produce`` and ``nicelist reconcile`` against an in-process moto (one elf: moto's
Kinesis is not thread-safe, the embedded stack serialises requests for the multi-elf runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import schemas
from consumer._aggregation import deaggregate
from nicelist.cli import main
from tests.archive_fixtures import archive_key, archived_row, avro_file, table_item


def _stream_events(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    events = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        for record in records:
            events.extend(schemas.decode_event(user.data) for user in deaggregate(record["Data"]))
    return events


def test_produce_delivers_every_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        kinesis.create_stream(StreamName="load", ShardCount=2)
        rc = main(
            [
                "produce",
                "--stream=load",
                "--events=300",
                "--rate=0",
                "--elves=1",
                "--kids=25",
                f"--spool-dir={tmp_path}",
                "--no-progress",
            ]
        )
        out = capsys.readouterr().out
        assert rc == 0, out
        assert "delivered:     300" in out and "failed:        0" in out
        events = _stream_events(kinesis, "load")
    assert len(events) == 300 and len({e["event_id"] for e in events}) == 300
    assert {e["elf_id"] for e in events} == {"elf-000"}
    assert len({e["kid_id"] for e in events}) <= 25


def test_produce_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["produce", "--kids=0", "--no-progress"])
    assert exit_.value.code == 2
    assert "argument --kids: must be at least 1, got 0" in capsys.readouterr().err


def test_reconcile_command_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        s3.create_bucket(Bucket="nicelist-archive")
        ddb.create_table(
            TableName="nicelist-kids",
            KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table = boto3.resource("dynamodb", region_name="us-east-1").Table("nicelist-kids")
        rows = [archived_row(i, kid_id=f"kid-{i}") for i in range(3)]
        s3.put_object(Bucket="nicelist-archive", Key=archive_key(rows[0]), Body=avro_file(rows))
        for row in rows:
            table.put_item(Item=table_item(row))
        assert main(["reconcile", "--no-progress"]) == 0
        assert capsys.readouterr().out.strip().endswith("AGREE")
        table.delete_item(Key={"kid_id": "kid-1"})
        assert main(["reconcile", "--no-progress"]) == 1
        assert "kids missing from the table:    1" in capsys.readouterr().out
        assert main(["reconcile", "--no-progress", "--table=absent"]) == 1
        assert "ResourceNotFoundException" in capsys.readouterr().err
