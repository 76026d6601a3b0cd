"""Borrow the embedded-stack fixtures until tests/conftest.py registers ``pytest_plugins = ["tests.stack"]``
(importing them here as well would start a second session stack for this folder)."""

from __future__ import annotations

from tests import conftest as _root

if "tests.stack" not in getattr(_root, "pytest_plugins", ()):
    from tests.stack import aws_client, clean_faults, local_aws  # noqa: F401
