"""Whose events a spool holds, and what a spool error may not do (issue 22): every segment names its
spool's stream (and region and endpoint where known), a foreign one is moved aside and never sent;
Producer() fails at once on a spool it cannot write in or delete from; the sender thread never
dies of a spool error."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from producer import Producer, ProducerConfig, SpoolIOError, SpoolPermissionError
from producer._spool import FsyncPolicy, Spool
from producer._spool_files import FOREIGN_DIR
from producer._spool_recovery import foreign_reason
from tests.factories import make_event
from tests.producer.test_spool_ownership import StubKinesis, producer_config

SEGMENT = 64 * 1024


def filled_spool(path: Path, n: int, **identity: str) -> Path:
    """A closed spool of ``n`` 100-byte events; its one segment."""
    spool = Spool(path, max_bytes=16 * SEGMENT, segment_bytes=SEGMENT, fsync=FsyncPolicy.NEVER, **identity)
    for i in range(n):
        spool.append(i.to_bytes(4, "big") * 25)
    spool.close()
    (segment,) = path.glob("*.seg")
    return segment


def test_a_segment_copied_from_another_streams_spool_is_moved_aside_not_sent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    theirs = filled_spool(tmp_path / "theirs", 30, stream="elves-us")
    ours = tmp_path / "ours"
    Spool(ours, max_bytes=16 * SEGMENT, segment_bytes=SEGMENT, stream="elves-eu").close()
    shutil.copy(theirs, ours / theirs.name)
    client = StubKinesis()
    with caplog.at_level(logging.WARNING, logger="producer._spool_recovery"):
        with Producer(producer_config(ours, client, stream="elves-eu")) as producer:
            producer.put(make_event())
            assert producer.flush(30) == 0
            metrics = producer.metrics()
    assert metrics.replayed == 0 and metrics.spool_foreign_segments == 1 and metrics.spool_events_lost == 0
    assert len(client.sent) == 1  # the put() event only: none of the 30 foreign ones
    assert (ours / FOREIGN_DIR / theirs.name).is_file() and not (ours / theirs.name).exists()
    (message,) = [r.getMessage() for r in caplog.records if "another spool" in r.getMessage()]
    assert "elves-us" in message and "30 events NOT sent" in message


def test_a_segment_of_another_region_is_foreign_a_loopback_endpoint_is_not_compared() -> None:
    ours = {"stream": "s", "region": "eu-west-1", "endpoint": "https://kinesis.eu-west-1.amazonaws.com"}
    assert foreign_reason({"stream": "s", "region": "us-east-1"}, ours) is not None
    assert foreign_reason({"stream": "s", "endpoint": "https://kinesis.example.com"}, ours) is not None
    assert foreign_reason({"stream": "s", "endpoint": "http://127.0.0.1:4566"}, ours) is None
    assert foreign_reason({"stream": "s"}, ours) is None  # what it does not name is not compared
    assert foreign_reason(None, ours) is None  # an older format, or both header copies damaged


def failing(monkeypatch: pytest.MonkeyPatch, name: str, suffix: str, code: int = errno.EACCES) -> None:
    """Make ``os.<name>`` (or Path.unlink) fail with ``code`` on paths ending in ``suffix``."""
    if name == "unlink":
        real_unlink = Path.unlink

        def unlink(self: Path, missing_ok: bool = False) -> None:
            if str(self).endswith(suffix):
                raise OSError(code, os.strerror(code), str(self))
            real_unlink(self, missing_ok=missing_ok)

        monkeypatch.setattr(Path, "unlink", unlink)
        return
    real_open = os.open

    def fake_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith(suffix):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


@pytest.mark.parametrize("how", ["cannot create", "cannot delete"])
def test_an_unwritable_spool_directory_fails_at_producer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    failing(monkeypatch, "open" if how == "cannot create" else "unlink", ".probe")
    with pytest.raises(SpoolPermissionError, match="spool directory") as caught:
        Producer(producer_config(tmp_path, StubKinesis()))
    assert caught.value.path == tmp_path / ".probe"
    monkeypatch.undo()
    Producer(producer_config(tmp_path, StubKinesis())).close()  # the failed start released the lock


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_spool_directory_fails_at_producer(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir(mode=0o700)
    Producer(producer_config(tmp_path / "spool", StubKinesis())).close()
    (tmp_path / "spool").chmod(0o500)
    try:
        with pytest.raises(SpoolPermissionError):
            Producer(producer_config(tmp_path / "spool", StubKinesis()))
    finally:
        (tmp_path / "spool").chmod(0o700)


def test_the_sender_thread_survives_spool_errors_and_keeps_delivering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise SpoolIOError("cannot delete spool segment: [EIO]", path=tmp_path)

    client = StubKinesis()
    config = producer_config(tmp_path, client)
    config = ProducerConfig(**{**config.__dict__, "fsync": FsyncPolicy.INTERVAL, "fsync_interval_ms": 1})
    with Producer(config) as producer:
        monkeypatch.setattr(Spool, "ack_appended", broken)
        monkeypatch.setattr(Spool, "sync", broken)
        futures = [producer.put(make_event()) for _ in range(50)]
        assert producer.flush(30) == 0
        assert all(f.result(0).sequence_number for f in futures)
        later = producer.put(make_event())  # still accepting: the thread is alive
        assert producer.flush(30) == 0 and later.result(0).sequence_number
        metrics = producer.metrics()
        assert metrics.spool_errors >= 2 and metrics.sent == 51
        monkeypatch.undo()
