"""Embedded local AWS: moto served over HTTP/1.1 and h2c on loopback, fixed for the KCL.

``from localaws import LocalAWS``; ``with LocalAWS.start() as stack: stack.endpoint_url``.
The server itself is ``python -m localaws --host 127.0.0.1 --port N`` (or ``nicelist local``).
"""

from __future__ import annotations

import logging

from ._errors import LocalAWSError, StackAdminError, StackStartError, UnsupportedMotoError
from ._limits import LimitsConfig, add_limits_arguments, limits_from_args
from ._process import LocalAWS, StackConfig
from ._server import ServerConfig, serve

__all__ = [
    "LimitsConfig",
    "LocalAWS",
    "LocalAWSError",
    "ServerConfig",
    "StackAdminError",
    "StackConfig",
    "StackStartError",
    "UnsupportedMotoError",
    "add_limits_arguments",
    "limits_from_args",
    "serve",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
