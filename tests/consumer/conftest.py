"""Until tests/conftest.py registers ``pytest_plugins = ["tests.stack"]``, borrow the fixtures here."""

from __future__ import annotations

from tests.stack import aws_client, clean_faults, local_aws  # noqa: F401
