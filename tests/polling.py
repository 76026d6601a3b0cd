"""Waiting for a condition with a deadline instead of sleeping for a fixed time (the ground floor's
helper, under the name the tests use)."""

from foundation.polling import wait_until

__all__ = ["wait_until"]
