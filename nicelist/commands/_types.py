"""argparse types: each turns one command-line string into a checked value or raises
``argparse.ArgumentTypeError`` saying the rule, so argparse prints one line and exits 2.

The bounds are the code's own limits (``foundation.limits``), so the command line refuses what
the library or AWS would refuse later, before anything is called::

    parser.add_argument("--shards", type=int_in(1, UPDATE_SHARD_COUNT_MAX_SHARDS))
    parser.add_argument("--timeout", type=positive_float)
    parser.add_argument("--from-day", type=day)

Numbers are finite (``nan`` and ``inf`` are refused); names follow AWS's naming rules
(``foundation.settings.aws_name_problem``).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from foundation.limits import KINESIS_HASH_KEY_MAX, KINESIS_MAX_RECORD_BYTES, UPDATE_SHARD_COUNT_MAX_SHARDS
from foundation.settings import aws_name_problem

_Error = argparse.ArgumentTypeError


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _Error(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _Error(f"{text!r} is not a finite number")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Error(f"{text!r} is not a whole number") from None


def _span(low: float | None, high: float | None) -> str:
    if high is None:
        return f"at least {low:g}"
    if low is None:
        return f"at most {high:g}"
    return f"within {low:g}..{high:g}"


def float_in(
    low: float | None = None, high: float | None = None, *, above: float | None = None
) -> Callable[[str], float]:
    """A finite number within ``low..high`` (either may be open), and ``> above`` when given."""

    def parse(text: str) -> float:
        value = _number(text)
        if above is not None and value <= above:
            raise _Error(f"must be more than {above:g}, got {text}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Error(f"must be {_span(low, high)}, got {text}")
        return value

    return parse


def int_in(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number within ``low..high`` (either may be open)."""

    def parse(text: str) -> int:
        value = _integer(text)
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Error(f"must be {_span(low, high)}, got {text}")
        return value

    return parse


#: seconds, rates, sizes: more than zero
positive_float = float_in(above=0)
#: grace periods, cool-offs: zero or more
non_negative_float = float_in(0)
#: shares of something: 0..1
fraction = float_in(0, 1)
positive_int = int_in(1)
non_negative_int = int_in(0)
#: a stream's shard count, the range UpdateShardCount and the reshard commands accept
shard_count = int_in(1, UPDATE_SHARD_COUNT_MAX_SHARDS)
#: one Kinesis record's bytes
record_bytes = int_in(1, KINESIS_MAX_RECORD_BYTES)
#: a hash key of the Kinesis key space
hash_key = int_in(0, KINESIS_HASH_KEY_MAX)
#: a TCP port to connect to
port = int_in(1, 65535)
#: a TCP port to listen on; 0: a free one the system picks
listen_port = int_in(0, 65535)


def day(text: str) -> str:
    """A calendar day as ``YYYY-MM-DD`` (returned in that form)."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise _Error(f"{text!r} is not a day as YYYY-MM-DD") from None


# deliberately plain: one @, a dotted domain, no spaces (SNS checks the rest by sending mail)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def email(text: str) -> str:
    """An email address (local@domain.tld), as an SNS email subscription needs."""
    if not _EMAIL.fullmatch(text):
        raise _Error(f"{text!r} is not an email address (name@example.com)")
    return text


def _url(text: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise _Error(f"{text!r} has a bad port") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise _Error(f"{text!r} is not a {' or '.join(s + '://' for s in schemes)} URL with a host")
    return text


def endpoint_url(text: str) -> str:
    """An AWS endpoint: ``http://host[:port]`` or ``https://host[:port]``."""
    return _url(text, ("http", "https"))


def https_url(text: str) -> str:
    """An ``https://`` URL (an SNS https subscription)."""
    return _url(text, ("https",))


def region(text: str) -> str:
    """An AWS region name such as ``us-east-1``."""
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", text):
        raise _Error(f"{text!r} is not an AWS region name (e.g. us-east-1)")
    return text


def aws_name(kind: str) -> Callable[[str], str]:
    """A ``kind`` name (stream, table, bucket, application) as AWS accepts it."""

    def parse(text: str) -> str:
        problem = aws_name_problem(kind, text)
        if problem:
            raise _Error(f"{kind} name {problem}")
        return text

    return parse


def output_file(text: str) -> Path:
    """A file to write: its folder must exist."""
    path = Path(text)
    if path.is_dir():
        raise _Error(f"{text} is a directory; give a file name")
    if not path.parent.is_dir():
        raise _Error(f"{path.parent} is not an existing directory")
    return path


def input_file(text: str) -> Path:
    """A file to read: it must exist."""
    path = Path(text)
    if not path.is_file():
        raise _Error(f"{text} is not an existing file")
    return path


def directory(text: str) -> Path:
    """A folder to use or create: it must be a directory if it exists, and its parent must exist otherwise."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise _Error(f"{text} exists and is not a directory")
    if not path.exists() and not path.parent.is_dir():
        raise _Error(f"{path.parent} is not an existing directory")
    return path


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (a KCL property) as a pair, both stripped."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise _Error(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()
