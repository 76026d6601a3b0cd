"""Waiting for a condition with a deadline instead of sleeping for a fixed time (the ground floor's
helpers, under the names the tests use). A timeout is :class:`PollTimeout` (a ``TimeoutError``, not
an ``AssertionError``): a best-effort wait uses :func:`poll`, which never raises, and a caller that adds
a diagnosis catches ``PollTimeout``; ``tests/test_waits.py`` keeps it so."""

from foundation.polling import PollTimeout, poll, wait_until

__all__ = ["PollTimeout", "poll", "wait_until"]
