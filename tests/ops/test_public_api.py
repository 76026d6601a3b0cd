"""The public surface of ``ops`` stays what ``__all__`` says, and importing it starts nothing."""

from __future__ import annotations

import subprocess
import sys

import ops


def test_every_public_name_resolves() -> None:
    assert sorted(ops.__all__) == sorted(set(ops.__all__))
    for name in ops.__all__:
        assert getattr(ops, name) is not None, name


def test_importing_ops_creates_no_client_and_no_process() -> None:
    code = (
        "import threading, ops, sys; "
        "assert threading.active_count() == 1, threading.enumerate(); "
        "assert 'localaws' not in sys.modules and 'moto' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
