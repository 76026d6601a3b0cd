"""Errors of the embedded local AWS.

::

    LocalAWSError
    ├── StackStartError      the server process did not become ready before its deadline
    ├── StackAdminError      the server's admin endpoint refused a request (bad fault spec, ...)
    └── UnsupportedMotoError the installed moto is not the version the Kinesis fixes are pinned to
"""

from __future__ import annotations


class LocalAWSError(Exception):
    """Root of every error raised by :mod:`localaws`."""


class StackStartError(LocalAWSError):
    """The server process exited or did not answer before the start deadline."""


class StackAdminError(LocalAWSError):
    """The admin endpoint (``/_localaws/...``) answered with an error."""


class UnsupportedMotoError(LocalAWSError):
    """moto is not the version :mod:`localaws._kinesis_fixes` was written and tested against."""
