"""The public surface of producer/ is what __init__ re-exports, and nothing leaks from private modules."""

from __future__ import annotations

import producer


def test_all_is_the_public_surface() -> None:
    assert sorted(producer.__all__) == [
        "AUTO",
        "BufferFullError",
        "DeliveryFailedError",
        "DeliveryFuture",
        "FsyncPolicy",
        "Producer",
        "ProducerClosedError",
        "ProducerConfig",
        "ProducerError",
        "ProducerForkedError",
        "Receipt",
        "SpoolError",
        "SpoolFullError",
        "SpoolIOError",
        "SpoolLockedError",
        "SpoolPermissionError",
        "SpoolStreamMismatchError",
        "default_spool_dir",
    ]
    for name in producer.__all__:
        if name != "AUTO":
            assert getattr(producer, name).__module__.startswith("producer._")


def test_error_tree_has_one_root() -> None:
    for name in ("BufferFullError", "DeliveryFailedError", "ProducerClosedError", "SpoolFullError", "SpoolLockedError"):
        assert issubclass(getattr(producer, name), producer.ProducerError)
    assert issubclass(producer.SpoolFullError, producer.SpoolError)
    assert issubclass(producer.SpoolLockedError, producer.SpoolError)
    for name in ("SpoolIOError", "SpoolPermissionError", "SpoolStreamMismatchError"):
        assert issubclass(getattr(producer, name), producer.SpoolError)
    assert issubclass(producer.ProducerForkedError, producer.ProducerClosedError)
