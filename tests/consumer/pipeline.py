"""A running pipeline for the integration tests: the embedded stack, provisioned resources and a set of
KCL workers kept alive by a small supervisor, plus readers of what landed in S3 and DynamoDB."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consumer import ProcessorConfig, RetryPolicy
from consumer.archive import read_rows
from consumer.daemon import WorkerConfig, WorkerProcess
from foundation.settings import AwsSettings, PipelineNames
from localaws import LocalAWS
from tests.polling import PollTimeout, wait_until

#: Short files and quick give-up, so the tests see durable data and sink failures within seconds;
#: files a few seconds long so a worker frozen mid-stream almost always holds unarchived rows.
PROCESSOR = ProcessorConfig(
    archive_max_file_age_s=3.0,
    sink_retry=RetryPolicy(max_attempts=4, base_delay_s=0.05, max_delay_s=0.2),
)


@dataclass
class Pipeline:
    stack: LocalAWS
    names: PipelineNames
    run_dir: Path
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)
    _rows: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)

    @property
    def aws(self) -> AwsSettings:
        return AwsSettings(region=self.stack.region, endpoint_url=self.stack.endpoint_url)

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    # --- workers ---------------------------------------------------------------------------------
    def worker_config(self, worker_id: str) -> WorkerConfig:
        return WorkerConfig(
            names=self.names,
            aws=self.aws,
            worker_id=worker_id,
            # A daemon whose processor died waits this long for it before exiting: keep it short here.
            properties={"shutdownGraceMillis": "5000"},
            processor=PROCESSOR,
            run_dir=self.run_dir / worker_id,
            log_path=self.run_dir / f"{worker_id}.log",
        )

    def start(self, worker_id: str) -> WorkerProcess:
        worker = WorkerProcess.start(self.worker_config(worker_id))
        self.workers[worker_id] = worker
        return worker

    def supervise(self) -> None:
        """Restart any worker whose daemon exited (what systemd or Kubernetes would do)."""
        for worker_id, worker in list(self.workers.items()):
            if worker.poll() is not None:
                self.restarts[worker_id] += 1
                self.start(worker_id)

    def stop_all(self) -> None:
        for worker in self.workers.values():
            worker.terminate()  # all at once: each graceful shutdown takes seconds
        for worker in self.workers.values():
            worker.stop(timeout=30)

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for worker_id in self.workers:
            path = self.run_dir / f"{worker_id}.log"
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            parts.append(f"--- {worker_id} ---\n" + "\n".join(text))
        return "\n".join(parts)

    # --- what landed -----------------------------------------------------------------------------
    def _objects(self, prefix: str) -> list[dict[str, Any]]:
        s3 = self.client("s3")
        found: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.names.bucket, Prefix=prefix):
            found.extend(page.get("Contents", []))
        return found

    def archive_rows(self) -> list[dict[str, Any]]:
        """Every row of every archive file (re-read only when an object changed)."""
        s3 = self.client("s3")
        current = {o["Key"]: o["ETag"] for o in self._objects("events/")}
        for key, etag in current.items():
            if key not in self._rows or self._rows[key][0] != etag:
                body = s3.get_object(Bucket=self.names.bucket, Key=key)["Body"].read()
                self._rows[key] = (etag, read_rows(body))
        return [row for key in current for row in self._rows[key][1]]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [row for rows in self.dead_letter_files().values() for row in rows]

    def dead_letter_files(self) -> dict[str, list[dict[str, Any]]]:
        """Rows of each dead-letter object, by key."""
        s3 = self.client("s3")
        return {
            obj["Key"]: read_rows(s3.get_object(Bucket=self.names.bucket, Key=obj["Key"])["Body"].read())
            for obj in self._objects("dead-letter/")
        }

    def wait_for_events(self, event_ids: Iterable[str], *, timeout_s: float) -> list[dict[str, Any]]:
        """Wait (restarting dead workers) until every event is archived; return the whole archive."""
        wanted = set(event_ids)

        def arrived() -> list[dict[str, Any]] | None:
            self.supervise()
            rows = self.archive_rows()
            return rows if wanted <= {row["event_id"] for row in rows} else None

        try:
            return wait_until(arrived, timeout_s=timeout_s, what=f"{len(wanted)} events in the archive", poll_s=1.0)
        except PollTimeout as exc:
            have = {row["event_id"] for row in self.archive_rows()}
            raise AssertionError(f"{exc}; {len(wanted - have)} missing\n{self.log_tail()}") from None

    def lease_owners(self) -> dict[str, str]:
        """shard id -> worker id of the leases still being read (not at SHARD_END), from the KCL's
        lease table (named after the application)."""
        items = self.client("dynamodb").scan(TableName=self.names.application, ConsistentRead=True)["Items"]
        return {
            i["leaseKey"]["S"]: i["leaseOwner"]["S"]
            for i in items
            if "leaseOwner" in i and i.get("checkpoint", {}).get("S") != "SHARD_END"
        }

    def leader(self) -> str | None:
        """The worker holding the KCL 3 leader lock (it assigns leases; its lock lasts 2 minutes)."""
        table = f"{self.names.application}-CoordinatorState"
        item = self.client("dynamodb").get_item(TableName=table, Key={"key": {"S": "Leader"}}, ConsistentRead=True)
        owner = item.get("Item", {}).get("ownerName", {}).get("S")
        return str(owner) if owner else None

    def items(self, kids: Iterable[str]) -> dict[str, dict[str, Any]]:
        dynamodb = self.client("dynamodb")
        found = {}
        for kid in kids:
            item = dynamodb.get_item(TableName=self.names.table, Key={"kid_id": {"S": kid}}, ConsistentRead=True)
            if "Item" in item:
                found[kid] = item["Item"]
        return found


def duplicated_positions(rows: Iterable[dict[str, Any]]) -> list[tuple[str, str, int]]:
    counts = Counter((row["shard_id"], row["sequence_number"], row["subsequence_number"]) for row in rows)
    return [position for position, n in counts.items() if n > 1]


def latest_event_ids(events: Iterable[dict[str, Any]]) -> dict[str, str]:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        current = latest.get(event["kid_id"])
        if current is None or (event["observed_at"], event["event_id"]) > (current["observed_at"], current["event_id"]):
            latest[event["kid_id"]] = event
    return {kid: event["event_id"] for kid, event in latest.items()}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
