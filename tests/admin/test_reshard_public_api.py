"""The public surface of admin.reshard: what scripts and the demo may import."""

from __future__ import annotations

import admin.reshard


def test_everything_in_all_is_importable_and_public() -> None:
    for name in admin.reshard.__all__:
        assert getattr(admin.reshard, name) is not None
        assert not name.startswith("_")


def test_the_demo_api_is_there() -> None:
    for name in ("scale", "split", "merge", "rebalance", "read_status", "plan_capacity", "Resharder", "ReshardError"):
        assert name in admin.reshard.__all__


def test_every_error_has_the_one_root() -> None:
    errors = [getattr(admin.reshard, n) for n in admin.reshard.__all__ if n.endswith("Error")]
    assert len(errors) == 12
    assert all(issubclass(e, admin.reshard.ReshardError) for e in errors)
