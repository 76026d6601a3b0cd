"""Processes that die with their parent: Linux ``PR_SET_PDEATHSIG`` through ``prctl``.

The MultiLangDaemon runs in its own session (so a terminal's Ctrl-C reaches only the launcher,
which then stops it gracefully). Without more, a launcher killed by SIGKILL (an OOM kill, a
supervisor that kills only the main process) would leave the JVM running, holding and renewing
its leases beside the daemon a restarted launcher starts. So the daemon is started with a parent
death signal of SIGKILL.

The kernel sends the signal when the *thread* that forked the child ends, not the process:
:func:`spawn` forks from the main thread, or else from one helper thread that lives as long as
the process. The JVM starts record processors (``python -m consumer``) from executor threads it
retires at will, so a processor does not use the signal: :func:`watch_parent` polls its parent
instead. Elsewhere than Linux there is no prctl and nothing is set for the daemon (the processors
still watch their parent, and exit when the daemon closes their stdin).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

log = logging.getLogger(__name__)

#: linux/prctl.h
PR_SET_PDEATHSIG = 1
_T = TypeVar("_T")
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def supported() -> bool:
    """Whether this platform can tie a child's life to its parent."""
    return _prctl() is not None


def preexec_die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child SIGKILLed when its parent (thread) ends; None where
    unsupported. Resolved before the fork: the child only calls it."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        if prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            os._exit(126)  # could not tie the child to us: better no daemon than an orphan
        if os.getppid() != parent:  # the parent died between fork and prctl
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def watch_parent(*, poll_s: float = 1.0) -> int:
    """Make the running process SIGKILL itself once its parent process is gone (call first thing
    in ``main``); returns the parent's pid. A thread polls ``getppid()``: unlike
    ``PR_SET_PDEATHSIG``, whose signal comes when the *thread* that forked us ends, this survives
    the JVM retiring the executor thread that started a record processor (which killed healthy
    processors with SIGKILL, and so their whole daemon, mid-run)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                log.error("daemon %s is gone: record processor %s stops", parent, os.getpid())
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="nicelist-lifeline", daemon=True).start()
    return parent


def spawn(start: Callable[[], _T]) -> _T:
    """Run ``start`` (which forks) on a thread that ends only with the process: the main thread
    when called from it, else one helper thread kept for the life of the process."""
    if threading.current_thread() is threading.main_thread():
        return start()
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nicelist-spawner")
        spawner = _spawner
    return spawner.submit(start).result()
