"""Borrow the stack fixtures (they share one process with tests/conftest.py's ``tests.stack`` plugin)."""

from __future__ import annotations

from tests.stack import aws_client, clean_faults, local_aws  # noqa: F401
