"""The embedded local AWS for tests: one server process per test session.

Register from tests/conftest.py with ``pytest_plugins = ["tests.stack"]``; then any test can ask
for ``local_aws`` (a :class:`localaws.LocalAWS`) and make clients with ``aws_client``. Tests share
the one stack, so each test uses its own resource names (``unique_name``) and clears any fault
it arms (the ``clean_faults`` fixture does it for you). A test directory may also borrow the
fixtures (``from tests.stack import local_aws``): every borrower shares the same process.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localaws import LimitsConfig, LocalAWS, StackConfig

_shared: dict[str, Any] = {"stack": None, "users": 0}


@contextlib.contextmanager
def shared_stack() -> Iterator[LocalAWS]:
    """The one stack of this test process, however many fixtures (plugin or borrowed) ask for it;
    stopped by PID when the last of them is done."""
    if _shared["users"] == 0:
        _shared["stack"] = LocalAWS.start(config=StackConfig.from_env())
    _shared["users"] += 1
    try:
        yield _shared["stack"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["stack"].stop()
            _shared["stack"] = None


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAWS]:
    """The session's local stack: started once on a free port, stopped by PID at session end.

    ``LOCALAWS_KINESIS_FIXES=0 pytest tests/localaws`` runs against moto's Kinesis as shipped.
    """
    with shared_stack() as stack:
        yield stack


@pytest.fixture(scope="session")
def limited_aws() -> Iterator[LocalAWS]:
    """A second stack in limits mode (Kinesis's per-shard limits x 0.001: 1 record/s and ~1 KiB/s
    written per shard, 5 GetRecords/s; AWS/Kinesis metrics every second). Started on first use,
    stopped by PID at session end. ``LOCALAWS_LIMITS_SCALE=F`` instead puts the shared stack itself
    in limits mode."""
    config = StackConfig(limits=LimitsConfig(scale=0.001, metrics_period_s=1.0))
    with LocalAWS.start(config=config) as stack:
        yield stack


@pytest.fixture
def aws_client(local_aws: LocalAWS) -> Callable[..., Any]:
    """``aws_client("kinesis", **botocore_config)``: a boto3 client on the session stack."""

    def make(service: str, **config: Any) -> Any:
        return local_aws.client(service, **config)

    return make


@pytest.fixture
def clean_faults(local_aws: LocalAWS) -> Iterator[LocalAWS]:
    """The stack, with every injected fault disarmed after the test."""
    try:
        yield local_aws
    finally:
        local_aws.clear_faults()


def unique_name(prefix: str) -> str:
    """A resource name no other test on the shared stack uses (lower case, S3-safe)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
