"""Who may use a spool (issue 12, class 4): the lock holds by inode, a spool belongs to one stream,
a forked child cannot use its parent's producer, and file system errors are SpoolErrors with the path."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import producer._spool as spool_module
from producer import (
    Producer,
    ProducerConfig,
    ProducerForkedError,
    SpoolError,
    SpoolFullError,
    SpoolIOError,
    SpoolLockedError,
    SpoolPermissionError,
    SpoolStreamMismatchError,
)
from producer._spool import LOCK_NAME, FsyncPolicy, Spool
from tests.factories import make_event

SEGMENT = 64 * 1024
STREAM = "nicelist-test"


class StubKinesis:
    """PutRecords that succeeds at once, or throttles every record while ``throttle`` is set."""

    def __init__(self) -> None:
        self.throttle = threading.Event()
        self.sent: list[bytes] = []
        self._lock = threading.Lock()

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        if self.throttle.is_set():
            failed = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
            return {"FailedRecordCount": len(Records), "Records": [failed for _ in Records]}
        with self._lock:
            self.sent.extend(r["Data"] for r in Records)
            start = len(self.sent)
        results = [{"ShardId": "shardId-000000000000", "SequenceNumber": str(start + i)} for i in range(len(Records))]
        return {"FailedRecordCount": 0, "Records": results}


def open_spool(path: Path, stream: str | None = STREAM) -> Spool:
    return Spool(path, max_bytes=16 * SEGMENT, segment_bytes=SEGMENT, fsync=FsyncPolicy.NEVER, stream=stream)


def producer_config(spool_dir: Path, client: Any, stream: str = STREAM) -> ProducerConfig:
    return ProducerConfig(
        stream_name=stream,
        kinesis_client=client,
        spool_dir=spool_dir,
        linger_ms=1,
        backoff_base_ms=1,
        backoff_max_ms=5,
        close_timeout_s=5,
    )


# --- the lock holds by inode ---------------------------------------------------------------
def test_deleting_the_lock_file_lets_no_second_spool_in(tmp_path: Path) -> None:
    first = open_spool(tmp_path)
    first.append(b"a" * 100)
    (tmp_path / LOCK_NAME).unlink()
    with pytest.raises(SpoolLockedError):
        open_spool(tmp_path)
    first.append(b"b" * 100)
    first.close()
    again = open_spool(tmp_path)
    assert [p for _, p in again.replay()] == [b"a" * 100, b"b" * 100]
    again.close()


def test_deleting_the_lock_file_under_a_running_producer_keeps_its_data(tmp_path: Path) -> None:
    client = StubKinesis()
    client.throttle.set()
    events = [make_event() for _ in range(300)]
    first = Producer(producer_config(tmp_path, client))
    for event in events[:200]:
        first.put(event)
    (tmp_path / LOCK_NAME).unlink()
    with pytest.raises(SpoolLockedError):
        Producer(producer_config(tmp_path, StubKinesis()))
    for event in events[200:]:
        first.put(event)  # its live segment was not touched by the refused producer
    assert first.close(timeout=0.1) == 300

    second_client = StubKinesis()
    with Producer(producer_config(tmp_path, second_client)) as second:
        assert second.flush(30) == 0
        assert second.metrics().replayed == 300
        assert second.metrics().spool_frames_lost == 0


# --- one stream per spool ------------------------------------------------------------------
def test_a_spool_refuses_another_stream(tmp_path: Path) -> None:
    open_spool(tmp_path, stream="stream-a").close()
    with pytest.raises(SpoolStreamMismatchError, match="stream-a") as caught:
        open_spool(tmp_path, stream="stream-b")
    assert caught.value.path == tmp_path
    open_spool(tmp_path, stream="stream-a").close()  # its own stream still opens it


def test_a_producer_refuses_a_spool_made_for_another_stream(tmp_path: Path) -> None:
    client = StubKinesis()
    client.throttle.set()
    with Producer(producer_config(tmp_path, client, stream="elves-eu")) as producer:
        producer.put(make_event())
        producer.close(timeout=0)
    with pytest.raises(SpoolStreamMismatchError, match="elves-eu"):
        Producer(producer_config(tmp_path, StubKinesis(), stream="elves-us"))


def test_a_spool_of_an_older_version_is_adopted_by_its_first_stream(tmp_path: Path) -> None:
    open_spool(tmp_path, stream=None).close()  # no stream recorded
    open_spool(tmp_path, stream="stream-a").close()
    with pytest.raises(SpoolStreamMismatchError):
        open_spool(tmp_path, stream="stream-b")


# --- file system errors --------------------------------------------------------------------
def failing_open(monkeypatch: pytest.MonkeyPatch, code: int, suffix: str) -> None:
    real_open = os.open

    def fake_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith(suffix):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(spool_module.os, "open", fake_open)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (errno.ENOSPC, SpoolFullError),  # out of inodes gives ENOSPC on create
        (errno.EROFS, SpoolPermissionError),
        (errno.EACCES, SpoolPermissionError),
        (errno.EMFILE, SpoolIOError),
    ],
)
def test_a_segment_that_cannot_be_created_is_a_spool_error_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, error: type[SpoolError]
) -> None:
    spool = open_spool(tmp_path)
    failing_open(monkeypatch, code, ".seg")
    with pytest.raises(error) as caught:
        spool.append(b"x" * 100)
    assert caught.value.path is not None and caught.value.path.suffix == ".seg"
    assert caught.value.path.parent == tmp_path
    assert errno.errorcode[code] in str(caught.value)
    spool.close()


def test_a_lock_file_that_cannot_be_created_is_a_spool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failing_open(monkeypatch, errno.EROFS, LOCK_NAME)
    with pytest.raises(SpoolPermissionError) as caught:
        open_spool(tmp_path)
    assert caught.value.path == tmp_path / LOCK_NAME


def test_an_unreadable_segment_is_a_spool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = open_spool(tmp_path)
    spool.append(b"x" * 100)
    spool.close()
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.suffix == ".seg":
            raise OSError(errno.EIO, "Input/output error", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(SpoolIOError, match="EIO") as caught:
        open_spool(tmp_path)
    assert caught.value.path is not None and caught.value.path.suffix == ".seg"
    monkeypatch.undo()
    open_spool(tmp_path).close()  # the failed open released the lock


def test_a_spool_path_that_is_a_file_is_a_spool_error(tmp_path: Path) -> None:
    (tmp_path / "spool").write_text("not a directory")
    with pytest.raises(SpoolError) as caught:
        open_spool(tmp_path / "spool")
    assert caught.value.path == tmp_path / "spool"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_spool_directory_is_a_permission_error(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir(mode=0o500)
    try:
        with pytest.raises(SpoolPermissionError):
            open_spool(tmp_path / "spool")
    finally:
        (tmp_path / "spool").chmod(0o700)


# --- fork ----------------------------------------------------------------------------------
def test_a_forked_child_cannot_use_its_parents_producer(tmp_path: Path) -> None:
    client = StubKinesis()
    client.throttle.set()  # keep everything in the spool while the child runs
    producer = Producer(producer_config(tmp_path, client))
    for _ in range(50):
        producer.put(make_event())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what put(), flush() and close() did, then leave at once
        code = 0
        try:
            try:
                producer.put(make_event())
                code |= 1
            except ProducerForkedError:
                pass
            try:
                producer.flush(1)
                code |= 2
            except ProducerForkedError:
                pass
            producer.close()  # a no-op: must not seal or truncate the parent's segment
        except BaseException:
            code |= 4
        os.write(write_end, bytes([code]))
        os._exit(0)
    os.close(write_end)
    try:
        assert os.read(read_end, 1) == b"\x00"
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    for _ in range(50):
        producer.put(make_event())  # the parent is unharmed
    client.throttle.clear()
    assert producer.flush(30) == 0
    assert producer.metrics().sent == 100  # the parent's 100 events, none of the child's
    producer.close()
    assert list(tmp_path.glob("*.seg")) == []
    with Producer(producer_config(tmp_path, StubKinesis())) as again:
        assert again.metrics().replayed == 0 and again.metrics().spool_frames_lost == 0
