"""Names of the pipeline's resources and how to reach AWS: the only place that reads ``os.environ``
for them.

Endpoints follow the standard AWS variables, which boto3 reads itself: ``AWS_ENDPOINT_URL`` for
every service and ``AWS_ENDPOINT_URL_<SERVICE>`` (``_KINESIS``, ``_DYNAMODB``, ``_S3``,
``_CLOUDWATCH``) for one. An explicit ``endpoint_url`` (the CLI's ``--endpoint``) wins over both.
So the same code serves the embedded stack, LocalStack and real AWS by configuration only.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

DEFAULT_STREAM = "nicelist"
DEFAULT_TABLE = "nicelist-kids"
DEFAULT_BUCKET = "nicelist-archive"
DEFAULT_APPLICATION = "nicelist-worker"
DEFAULT_REGION = "us-east-1"
#: the characters AWS allows in each name (Kinesis stream names and DynamoDB table names:
#: ``[a-zA-Z0-9_.-]+``; S3 bucket names: ``[a-z0-9.-]+``; the KCL application names a table)
NAME_PATTERNS = {
    "stream": re.compile(r"[A-Za-z0-9_.-]+"),
    "table": re.compile(r"[A-Za-z0-9_.-]+"),
    "bucket": re.compile(r"[a-z0-9.-]+"),
    "application": re.compile(r"[A-Za-z0-9_.-]+"),
}
#: where each name comes from, for error messages
NAME_SOURCES = {
    "stream": "NICELIST_STREAM / --stream",
    "table": "NICELIST_TABLE / --table",
    "bucket": "NICELIST_BUCKET / --bucket",
    "application": "NICELIST_APPLICATION / --application",
}
#: the lengths AWS allows: Kinesis stream 1..128 (CreateStream, StreamName); DynamoDB table
#: 3..255 (CreateTable, TableName); S3 bucket 3..63 (S3 User Guide, "Bucket naming rules"); the
#: KCL 3 application names its lease table and ``<application>-WorkerMetricStats``, so 3..237
NAME_LENGTHS = {"stream": (1, 128), "table": (3, 255), "bucket": (3, 63), "application": (3, 237)}
#: S3 bucket names AWS reserves (S3 User Guide, "General purpose bucket naming rules")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def aws_name_problem(kind: str, value: str) -> str | None:
    """What AWS would refuse in a ``kind`` name (``stream``, ``table``, ``bucket``, ``application``):
    its characters, its length and S3's bucket rules; None when AWS accepts it. :class:`PipelineNames`
    checks the characters only, so short test names stay usable in code."""
    pattern = NAME_PATTERNS[kind]
    low, high = NAME_LENGTHS[kind]
    if any(unicodedata.category(c).startswith("C") for c in value):
        return f"{value!r} holds control characters"
    if not pattern.fullmatch(value):
        return f"{value!r} may hold only {pattern.pattern[:-1]}"
    if not low <= len(value) <= high:
        return f"{value!r} has {len(value)} characters; AWS allows {low}..{high}"
    if kind == "bucket":
        if not (value[0].isalnum() and value[-1].isalnum()):
            return f"{value!r} must begin and end with a letter or digit"
        if ".." in value:
            return f"{value!r} must not hold two adjacent periods"
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value):
            return f"{value!r} must not look like an IP address"
        if value.startswith(_BUCKET_PREFIXES) or value.endswith(_BUCKET_SUFFIXES):
            return f"{value!r} uses a prefix or suffix S3 reserves"
    return None


@dataclass(frozen=True, kw_only=True)
class PipelineNames:
    """The stream, the kid table, the archive bucket and the KCL application (lease table) name."""

    stream: str = DEFAULT_STREAM
    table: str = DEFAULT_TABLE
    bucket: str = DEFAULT_BUCKET
    application: str = DEFAULT_APPLICATION

    def __post_init__(self) -> None:
        """Every name is checked before it reaches a properties file, an ARN or a URL: a newline
        in a name would add a line (a property) to the KCL's properties file."""
        for name, pattern in NAME_PATTERNS.items():
            value = getattr(self, name)
            setting = f"{name} name ({NAME_SOURCES[name]})"
            if not isinstance(value, str) or not value:
                raise ConfigError(setting, "must not be empty")
            controls = sorted({f"U+{ord(c):04X}" for c in value if unicodedata.category(c).startswith("C")})
            if controls:
                raise ConfigError(setting, f"{value!r} holds control characters {', '.join(controls)}")
            if not pattern.fullmatch(value):
                raise ConfigError(setting, f"{value!r} may hold only {pattern.pattern[:-1]}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: str | None) -> PipelineNames:
        """``NICELIST_STREAM``, ``NICELIST_TABLE``, ``NICELIST_BUCKET``, ``NICELIST_APPLICATION``;
        keyword arguments that are not None (e.g. CLI flags) win."""
        env = os.environ if environ is None else environ
        values = {
            "stream": env.get("NICELIST_STREAM", DEFAULT_STREAM),
            "table": env.get("NICELIST_TABLE", DEFAULT_TABLE),
            "bucket": env.get("NICELIST_BUCKET", DEFAULT_BUCKET),
            "application": env.get("NICELIST_APPLICATION", DEFAULT_APPLICATION),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class AwsSettings:
    """Region and optional endpoint override; credentials come from boto3's usual chain."""

    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    #: extra botocore Config keyword arguments (timeouts, pool size)
    client_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9-]+", self.region or ""):
            raise ConfigError("region (AWS_REGION / AWS_DEFAULT_REGION)", f"{self.region!r} is not a region name")
        if self.endpoint_url is not None and any(unicodedata.category(c).startswith("C") for c in self.endpoint_url):
            raise ConfigError("endpoint URL (--endpoint)", f"{self.endpoint_url!r} holds control characters")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, endpoint_url: str | None = None) -> AwsSettings:
        env = os.environ if environ is None else environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        return cls(region=region, endpoint_url=endpoint_url)

    def client(self, service: str, **config: Any) -> Any:
        """A new boto3 client; each caller owns its clients (boto3 clients are thread-safe,
        sessions are not)."""
        import boto3
        from botocore.config import Config

        options = {"retries": {"mode": "standard"}, **self.client_options, **config}
        kwargs: dict[str, Any] = {"region_name": self.region, "config": Config(**options)}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        session: Any = boto3.session.Session()
        return session.client(service, **kwargs)

    def endpoint_for(self, service: str, environ: Mapping[str, str] | None = None) -> str | None:
        """The endpoint a client for ``service`` would use, for non-boto3 consumers (the KCL)."""
        if self.endpoint_url:
            return self.endpoint_url
        env = os.environ if environ is None else environ
        return env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or env.get("AWS_ENDPOINT_URL") or None
