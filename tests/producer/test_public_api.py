"""The public surface of producer/ is what __init__ re-exports, and nothing leaks from private modules."""

from __future__ import annotations

from pathlib import Path

import producer
import schemas


def test_all_is_the_public_surface() -> None:
    assert sorted(producer.__all__) == [
        "AsyncProducer",
        "BufferFullError",
        "DEFAULT_SPOOL_DIR",
        "DeliveryFailedError",
        "DeliveryFuture",
        "FsyncPolicy",
        "NotDeliveredError",
        "Producer",
        "ProducerClosedError",
        "ProducerConfig",
        "ProducerError",
        "ProducerForkedError",
        "ProducerMetrics",
        "Receipt",
        "SpoolError",
        "SpoolFullError",
        "SpoolIOError",
        "SpoolLockedError",
        "SpoolPermissionError",
        "SpoolStreamMismatchError",
        "ValidationError",
        "default_spool_dir",
    ]
    for name in producer.__all__:
        if name != "DEFAULT_SPOOL_DIR":
            assert getattr(producer, name).__module__.startswith("producer._")


def test_error_tree_has_one_root() -> None:
    for name in (
        "BufferFullError",
        "DeliveryFailedError",
        "NotDeliveredError",
        "ProducerClosedError",
        "SpoolFullError",
        "SpoolLockedError",
        "ValidationError",
    ):
        assert issubclass(getattr(producer, name), producer.ProducerError)
    assert issubclass(producer.SpoolFullError, producer.SpoolError)
    assert issubclass(producer.SpoolLockedError, producer.SpoolError)
    # "closed" (put after close) and "not delivered" (pending at close) are different errors
    assert not issubclass(producer.NotDeliveredError, producer.ProducerClosedError)
    assert not issubclass(producer.ProducerClosedError, producer.NotDeliveredError)
    # callers that catch schemas.ValidationError (or ValueError) keep catching put()'s refusals
    assert issubclass(producer.ValidationError, schemas.ValidationError)
    assert issubclass(producer.ValidationError, ValueError)


def test_the_packages_ship_a_py_typed_marker() -> None:
    for package in (producer, schemas):
        assert (Path(package.__file__).parent / "py.typed").is_file()
    setup = (Path(producer.__file__).parents[1] / "setup.py").read_text()
    assert '"producer": ["py.typed"]' in setup and '"py.typed"]' in setup.split('"schemas":')[1].split("\n")[0]


def test_metrics_is_a_frozen_dataclass_with_the_old_dict_keys() -> None:
    metrics = producer.ProducerMetrics(accepted=3, sent=2)
    assert metrics.as_dict() == {
        "accepted": 3,
        "sent": 2,
        "failed": 0,
        "spooled": 0,
        "replayed": 0,
        "pending_events": 0,
        "aggregated_records": 0,
        "retried": 0,
        "throttled": 0,
        "put_records_calls": 0,
        "bytes_sent": 0,
        "buffered_bytes": 0,
        "spool_bytes": 0,
        "spool_frames_lost": 0,
        "spool_bytes_lost": 0,
        "spool_events_lost": 0,
        "spool_foreign_segments": 0,
        "spool_errors": 0,
    }
    try:
        metrics.sent = 5  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("ProducerMetrics is not frozen")
    for name in ("SpoolIOError", "SpoolPermissionError", "SpoolStreamMismatchError"):
        assert issubclass(getattr(producer, name), producer.SpoolError)
    assert issubclass(producer.ProducerForkedError, producer.ProducerClosedError)
