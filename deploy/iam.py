"""The IAM policy documents shipped in ``deploy/iam_policies/`` and their rendering for other names.

The JSON files name the default resources (stream ``nicelist``, table ``nicelist-kids``, bucket
``nicelist-archive``, KCL application ``nicelist-worker``) in any region and account;
:func:`policy_for` rewrites them for the names and the account a deployment really uses.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from foundation.errors import ConfigError
from foundation.settings import DEFAULT_APPLICATION, DEFAULT_BUCKET, DEFAULT_STREAM, DEFAULT_TABLE, PipelineNames

ROLES = ("producer", "worker", "admin")


def load_policy(role: str) -> dict[str, Any]:
    """The shipped policy document of ``role`` (``producer``, ``worker`` or ``admin``)."""
    if role not in ROLES:
        raise ConfigError("role", f"one of {', '.join(ROLES)}, not {role!r}")
    text = resources.files("deploy").joinpath("iam_policies", f"{role}.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def policy_for(role: str, names: PipelineNames, *, region: str = "*", account: str = "*") -> dict[str, Any]:
    """The policy of ``role`` for these resource names, region and 12-digit account id."""
    if account != "*" and not re.fullmatch(r"\d{12}", account):
        raise ConfigError("account", "must be a 12-digit AWS account id or *")
    text = json.dumps(load_policy(role))
    replacements = [
        (f'stream/{DEFAULT_STREAM}"', f'stream/{names.stream}"'),
        (f'table/{DEFAULT_TABLE}"', f'table/{names.table}"'),
        (f"table/{DEFAULT_APPLICATION}", f"table/{names.application}"),
        (f"alarm:{DEFAULT_APPLICATION}-", f"alarm:{names.application}-"),
        (f":{DEFAULT_APPLICATION}-alarms", f":{names.application}-alarms"),
        (f'"{DEFAULT_APPLICATION}"', f'"{names.application}"'),
        (f":::{DEFAULT_BUCKET}", f":::{names.bucket}"),
        (":*:*:", f":{region}:{account}:"),
    ]
    for old, new in replacements:
        text = text.replace(old, new)
    rendered: dict[str, Any] = json.loads(text)
    return rendered
