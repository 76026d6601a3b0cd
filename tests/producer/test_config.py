"""ProducerConfig validates once and reads its environment in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.limits import KINESIS_MAX_RECORD_BYTES, KINESIS_MAX_RECORDS_PER_PUT
from producer import DEFAULT_SPOOL_DIR, FsyncPolicy, ProducerConfig, default_spool_dir


def test_defaults_spool_per_user_and_stream() -> None:
    config = ProducerConfig(stream_name="nicelist-test")
    assert config.spool_dir is DEFAULT_SPOOL_DIR
    assert config.resolved_spool_dir == default_spool_dir("nicelist-test")
    assert config.resolved_spool_dir is not None and config.resolved_spool_dir.name == "nicelist-test"
    assert ProducerConfig(spool_dir=None).resolved_spool_dir is None
    assert ProducerConfig(spool_dir="/tmp/x").resolved_spool_dir == Path("/tmp/x")


def test_a_directory_named_auto_is_a_directory() -> None:
    assert ProducerConfig(spool_dir="auto").resolved_spool_dir == Path("auto")
    assert ProducerConfig(spool_dir=Path("auto")).resolved_spool_dir == Path("auto")
    assert "DEFAULT_SPOOL_DIR" in repr(ProducerConfig())
    # the environment keeps "auto" (and "default") for the default; "./auto" names the directory
    assert ProducerConfig.from_env({"NICELIST_PRODUCER_SPOOL_DIR": "auto"}).spool_dir is DEFAULT_SPOOL_DIR
    assert ProducerConfig.from_env({"NICELIST_PRODUCER_SPOOL_DIR": "default"}).spool_dir is DEFAULT_SPOOL_DIR
    assert ProducerConfig.from_env({"NICELIST_PRODUCER_SPOOL_DIR": "./auto"}).resolved_spool_dir == Path("auto")


def test_new_knobs_have_safe_defaults() -> None:
    config = ProducerConfig()
    assert config.exit_on_error_flush_s == 2.0 < config.close_timeout_s
    assert config.max_future_skew_s == 300.0 and config.max_future_skew_ms == 300_000
    env = {"NICELIST_PRODUCER_MAX_FUTURE_SKEW_S": "60", "NICELIST_PRODUCER_EXIT_ON_ERROR_FLUSH_S": "0.5"}
    config = ProducerConfig.from_env(env)
    assert config.max_future_skew_ms == 60_000 and config.exit_on_error_flush_s == 0.5


@pytest.mark.parametrize(
    "overrides",
    [
        {"stream_name": ""},
        {"stream_name": "has space"},
        {"linger_ms": -1},
        {"max_aggregated_record_bytes": KINESIS_MAX_RECORD_BYTES + 1},
        {"max_aggregated_record_bytes": 1000},
        {"max_records_per_request": KINESIS_MAX_RECORDS_PER_PUT + 1},
        {"max_buffered_bytes": 10},
        {"put_timeout_s": -1},
        {"max_spool_bytes": 1024},
        {"fsync": "sometimes"},
        {"backoff_base_ms": 0},
        {"max_attempts_throttled": 0},
        {"max_attempts_non_throttle": 0},
        {"exit_on_error_flush_s": -1},
        {"max_future_skew_s": -1},
        {"max_future_skew_s": float("nan")},
        {"spool_dir": ""},
        {"spool_dir": 42},
    ],
)
def test_nonsense_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ProducerConfig(**overrides)  # type: ignore[arg-type]


def test_from_env() -> None:
    env = {
        "NICELIST_STREAM": "elves",
        "AWS_REGION": "eu-west-1",
        "NICELIST_PRODUCER_LINGER_MS": "25",
        "NICELIST_PRODUCER_PUT_TIMEOUT_S": "0.5",
        "NICELIST_PRODUCER_SPOOL_DIR": "none",
        "NICELIST_PRODUCER_FSYNC": "always",
        "NICELIST_PRODUCER_MAX_ATTEMPTS_THROTTLED": "forever",
    }
    config = ProducerConfig.from_env(env, max_buffered_bytes=1 << 20)
    assert config.stream_name == "elves"
    assert config.aws.region == "eu-west-1"
    assert config.linger_ms == 25
    assert config.put_timeout_s == 0.5
    assert config.spool_dir is None
    assert config.fsync is FsyncPolicy.ALWAYS
    assert config.max_attempts_throttled is None
    assert config.max_buffered_bytes == 1 << 20
    with pytest.raises(ValueError, match="NICELIST_PRODUCER_LINGER_MS"):
        ProducerConfig.from_env({"NICELIST_PRODUCER_LINGER_MS": "soon"})
