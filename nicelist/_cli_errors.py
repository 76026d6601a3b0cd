"""What ``nicelist`` says when a command fails: one line that names the resource and the fix, and
the exit code. ``nicelist.cli.main`` is the one place that catches; commands just raise.

Exit codes::

    0    done (the command's own checks passed)
    1    operational failure: AWS refused, an endpoint is unreachable, a file cannot be read or
         written, or the command's own check failed (reconcile disagrees, compact found late files)
    2    usage error: a bad argument, setting or SQL; nothing was changed
    130  interrupted (Ctrl-C, or SIGTERM where a command turns it into an interrupt)

The errors it knows, and the code each gets::

    argparse errors (bad flag or value)                         2  (nicelist.cli's parser)
    UsageError, ValueError (foundation.ConfigError, the configs' checks)  2
    CommandFailed (a command's own "could not do it")           1
    duckdb / sqlglot errors (the SQL of ``query``)              2
    botocore NoCredentialsError, PartialCredentialsError, NoRegionError, CredentialRetrievalError  1
    botocore connection errors (EndpointConnectionError, ConnectTimeoutError,
        ReadTimeoutError, ConnectionClosedError, SSL and proxy errors)    1
    botocore ClientError (by its code: not found, access denied, throttled, ...)  1
    our packages' errors (ProvisionError, ReshardError, AnalyticsError, SourceError,
        DemoError, ProducerError, ConsumerError, ...)           1
    OSError (a file or folder)                                  1
    anything else: "internal error", the traceback with --verbose   1
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

USAGE = 2
FAILED = 1

#: top-level packages whose errors say what happened in their own words
_OUR_PACKAGES = frozenset(
    {
        "foundation",
        "properties",
        "schemas",
        "observability",
        "producer",
        "consumer",
        "localaws",
        "admin",
        "reconcile",
        "analytics",
        "deploy",
        "loadgen",
        "demo",
        "nicelist",
    }
)
#: packages whose errors mean "this SQL cannot run" (``query``)
_SQL_PACKAGES = frozenset({"duckdb", "_duckdb", "sqlglot"})

_MISSING = "check {flags}, or create it with `nicelist provision`"
#: a word of the operation's name -> the flags that name its resource
_NAME_FLAGS = (
    ("Stream", "--stream / $NICELIST_STREAM"),
    ("Shard", "--stream / $NICELIST_STREAM"),
    ("Table", "--table / $NICELIST_TABLE (the lease table: --application)"),
    ("Item", "--table / $NICELIST_TABLE (the lease table: --application)"),
    ("Scan", "--table / $NICELIST_TABLE (the lease table: --application)"),
    ("Object", "--bucket / $NICELIST_BUCKET"),
    ("Bucket", "--bucket / $NICELIST_BUCKET"),
)
#: AWS error code -> the fix to suggest
_FIXES: dict[str, str] = {
    **dict.fromkeys(("ResourceNotFoundException", "NoSuchBucket", "NotFound", "404"), _MISSING),
    **dict.fromkeys(
        ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "AllAccessDisabled"),
        "the credentials lack a permission: see the IAM policies `nicelist template` prints",
    ),
    **dict.fromkeys(
        (
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidToken",
        ),
        "check the AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID) and --region",
    ),
    **dict.fromkeys(
        ("ResourceInUseException", "OperationAborted"),
        "it is being changed: wait until it is ACTIVE, then run the command again",
    ),
    **dict.fromkeys(
        ("KMSAccessDeniedException", "KMSNotFoundException", "KMSDisabledException", "KMSInvalidStateException"),
        "check the KMS key (--kms-key, --bucket-kms-key) and its key policy",
    ),
    **dict.fromkeys(
        ("ValidationException", "InvalidArgumentException", "InvalidParameterValue", "InvalidBucketName"),
        "AWS refused a value: check the arguments",
    ),
}


class UsageError(Exception):
    """A command was given arguments that cannot work together (exit 2)."""


class CommandFailed(Exception):
    """A command could not do its job; the message says what and what to do (exit 1)."""


@dataclass(frozen=True)
class Failure:
    """One line for stderr and the exit code."""

    message: str
    exit_code: int


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _package(cls: type) -> str:
    return cls.__module__.split(".")[0]


def explain(exc: BaseException) -> Failure:
    """The line and the exit code for an exception a command raised."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        return Failure(_one_line(_client_error(exc)), FAILED)
    if isinstance(exc, BotoCoreError):
        return Failure(_one_line(_botocore_error(exc)), FAILED)
    if isinstance(exc, UsageError):
        return Failure(_one_line(str(exc)), USAGE)
    if isinstance(exc, CommandFailed):
        return Failure(_one_line(str(exc)), FAILED)
    if any(_package(cls) in _SQL_PACKAGES for cls in type(exc).__mro__):
        return Failure(_one_line(f"SQL: {type(exc).__name__}: {exc}"), USAGE)
    if _package(type(exc)) in _OUR_PACKAGES:  # a ValueError of ours is a bad setting or argument
        return Failure(_one_line(_our_error(exc)), USAGE if isinstance(exc, ValueError) else FAILED)
    if isinstance(exc, OSError):
        return Failure(_one_line(_os_error(exc)), FAILED)
    if isinstance(exc, ValueError):
        return Failure(_one_line(str(exc) or type(exc).__name__), USAGE)
    return Failure(
        _one_line(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)"), FAILED
    )


def _client_error(exc: BaseException) -> str:
    from foundation.aws_errors import ErrorKind, classify, error_code, error_message, http_status

    code = error_code(exc) or "error"
    message = error_message(exc)
    error = getattr(exc, "response", {}).get("Error", {})
    resource = error.get("BucketName") or error.get("Key") or ""
    operation = getattr(exc, "operation_name", "") or "the call"
    kind = classify(code, http_status(exc))
    if code in _FIXES:
        flags = next((f for word, f in _NAME_FLAGS if word in operation), "the names (--stream, --table, --bucket)")
        fix = _FIXES[code].format(flags=flags)
    elif kind is ErrorKind.THROTTLED:
        fix = "AWS is throttling or a limit is reached: try again later, or raise the quota"
    elif kind is ErrorKind.TRANSIENT:
        fix = "AWS had a server error: try again"
    else:
        fix = "see the AWS message"
    what = " ".join(part for part in (resource, message) if part)
    return f"AWS refused {operation}: {code}: {what or 'no message'}; fix: {fix}"


def _botocore_error(exc: BaseException) -> str:
    from botocore.exceptions import (
        ConnectionClosedError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
        PartialCredentialsError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return f"{exc}; fix: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any do for local stacks)"
    if isinstance(exc, NoRegionError):
        return f"{exc}; fix: give --region or set AWS_REGION"
    if isinstance(exc, BotoConnectionError | ConnectionClosedError | HTTPClientError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url")
        endpoint = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" if url else "the AWS endpoint"
        return (
            f"cannot reach {endpoint} ({type(exc).__name__}); fix: start the stack (`nicelist local`), "
            "or correct --endpoint / $AWS_ENDPOINT_URL, or the network"
        )
    if isinstance(exc, ParamValidationError):
        return f"{exc}; fix: check the arguments"
    return f"{type(exc).__name__}: {exc}"


def _os_error(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    where = f" {name}" if name else ""
    return f"cannot use{where}: {reason}; fix: check the path and its permissions"


def _our_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    completed = getattr(exc, "completed", None)  # admin.reshard.ReshardError: calls done before it
    if completed is None:
        return text
    if not completed:
        return f"{text}; nothing changed"
    steps = "; ".join(step.describe() for step in completed)
    return (
        f"{text}; {len(completed)} call(s) completed before the error ({steps}); run the same command again to carry on"
    )
