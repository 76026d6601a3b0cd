"""Fault injection: which requests fail, and the error each AWS protocol would send back.

Pure logic, no server: a :class:`FaultTable` of :class:`Fault` rules matched against the
service and operation of a request (:func:`classify`), and :func:`render_error` to build
the error response the real service would send (JSON 1.0/1.1 ``__type``, S3 REST-XML,
CloudWatch query XML or RPCv2 CBOR), so SDK retry logic sees exactly what AWS would send.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

SERVICES = ("kinesis", "dynamodb", "s3", "cloudwatch")

#: the HTTP status AWS uses for error codes tests commonly inject (used when none is given)
DEFAULT_STATUS = {
    "SlowDown": 503,
    "ServiceUnavailable": 503,
    "InternalError": 500,
    "InternalFailure": 500,
    "InternalServerError": 500,
}

_JSON_VERSION = {"kinesis": "1.1", "dynamodb": "1.0", "cloudwatch": "1.0"}
_DYNAMODB_ERROR_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"


@dataclass(frozen=True, kw_only=True)
class Fault:
    """Fail the next ``count`` requests to ``service`` (and ``operation``, None for any)."""

    service: str
    operation: str | None = None
    error_code: str
    http_status: int = 400
    count: int = 1
    message: str = "injected by localaws"
    #: only for DynamoDB BatchExecuteStatement: fail just these statements (0-based indexes) of
    #: the call, with ``error_code`` in their per-statement ``Error``; the others run normally
    statements: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}, not {self.service!r}")
        if not self.error_code:
            raise ValueError("error_code must not be empty")
        if not 400 <= self.http_status <= 599:
            raise ValueError(f"http_status must be an HTTP error status, not {self.http_status}")
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        if self.statements:
            if (self.service, self.operation) != ("dynamodb", "BatchExecuteStatement"):
                raise ValueError("statements= applies to dynamodb BatchExecuteStatement only")
            if any(not isinstance(i, int) or i < 0 for i in self.statements):
                raise ValueError(f"statements must be statement indexes (0, 1, ...), not {self.statements}")

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Fault:
        known = {"service", "operation", "error_code", "http_status", "count", "message", "statements"}
        unknown = set(document) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        values = dict(document)
        if "http_status" not in values or values["http_status"] is None:
            values["http_status"] = DEFAULT_STATUS.get(str(values.get("error_code")), 400)
        values["statements"] = tuple(values.get("statements") or ())
        return cls(**values)

    def matches(self, service: str, operation: str | None) -> bool:
        return self.service == service and (self.operation is None or self.operation == operation)


@dataclass
class _Armed:
    fault: Fault
    remaining: int
    fault_id: int
    hits: int = 0


@dataclass
class FaultTable:
    """Thread-safe list of armed faults; the first armed fault that matches a request fires."""

    _armed: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, fault: Fault) -> int:
        with self._lock:
            fault_id = next(self._ids)
            self._armed.append(_Armed(fault=fault, remaining=fault.count, fault_id=fault_id))
            return fault_id

    def clear(self) -> int:
        """Disarm every fault; returns how many were still armed."""
        with self._lock:
            cleared = len(self._armed)
            self._armed.clear()
            return cleared

    def take(self, service: str, operation: str | None, *, statements: bool = False) -> Fault | None:
        """The fault to fire for this request, consuming one of its counts; None to pass.

        ``statements=True`` takes a per-statement fault (``Fault.statements`` set) instead of a
        whole-request one."""
        with self._lock:
            for armed in self._armed:
                if bool(armed.fault.statements) == statements and armed.fault.matches(service, operation):
                    armed.remaining -= 1
                    armed.hits += 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                    return armed.fault
            return None

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": a.fault_id, "remaining": a.remaining, **asdict(a.fault)} for a in self._armed]


@dataclass(frozen=True)
class RequestInfo:
    """What a request is, as far as fault matching and error rendering need to know."""

    service: str
    operation: str | None
    #: "json", "rest-xml", "query" or "cbor": the protocol the client speaks
    protocol: str


def _header(environ: Mapping[str, Any], name: str) -> str:
    return str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))


def _signing_service(environ: Mapping[str, Any]) -> str | None:
    """The service name in a SigV4 ``Authorization`` credential scope, if any."""
    auth = _header(environ, "Authorization")
    marker = "Credential="
    start = auth.find(marker)
    if start < 0:
        return None
    scope = auth[start + len(marker) :].split(",", 1)[0].split("/")
    return scope[3].lower() if len(scope) >= 5 else None


def classify(environ: Mapping[str, Any]) -> RequestInfo:
    """Service, operation and protocol of a WSGI request, from its headers and URL only."""
    target = _header(environ, "X-Amz-Target")
    content_type = str(environ.get("CONTENT_TYPE", ""))
    service = _signing_service(environ)
    if service is None:
        prefix = target.split(".", 1)[0]
        if prefix.startswith("Kinesis_"):
            service = "kinesis"
        elif prefix.startswith("DynamoDB_"):
            service = "dynamodb"
        elif prefix.startswith("GraniteService"):
            service = "cloudwatch"
        else:
            service = "s3"
    path = str(environ.get("PATH_INFO", ""))
    if service == "monitoring":
        service = "cloudwatch"
    if service == "s3":
        return RequestInfo("s3", s3_operation(str(environ.get("REQUEST_METHOD", "GET")), path, environ), "rest-xml")
    if target:
        return RequestInfo(service, target.rsplit(".", 1)[-1], "json")
    if "cbor" in content_type or _header(environ, "Smithy-Protocol"):
        # RPCv2 CBOR: POST /service/<ServiceName>/operation/<Operation>
        return RequestInfo(service, path.rstrip("/").rsplit("/", 1)[-1] or None, "cbor")
    # query protocol: the action is in the form body, which we do not read here
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    action = query.get("Action", [None])[0]
    return RequestInfo(service, action, "query")


def s3_operation(method: str, path: str, environ: Mapping[str, Any]) -> str:
    """The S3 operation of a path-style request (the common ones; "Unknown" otherwise)."""
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    has_key = "/" in path.lstrip("/")
    method = method.upper()
    if has_key:
        if method == "PUT":
            if "partNumber" in query:
                return "UploadPart"
            return "CopyObject" if _header(environ, "X-Amz-Copy-Source") else "PutObject"
        if method == "POST":
            return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
        if method == "DELETE":
            return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
        return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, "Unknown")
    subresources = {
        "encryption": "BucketEncryption",
        "publicAccessBlock": "PublicAccessBlock",
        "versioning": "BucketVersioning",
        "policy": "BucketPolicy",
        "tagging": "BucketTagging",
    }
    for name, suffix in subresources.items():
        if name in query:
            verb = {"PUT": "Put", "GET": "Get", "DELETE": "Delete"}.get(method, "Unknown")
            return verb + suffix
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "GET":
        if path.strip("/") == "":
            return "ListBuckets"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, "Unknown")


def render_error(info: RequestInfo, fault: Fault) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the error response AWS would send for ``fault``."""
    request_id = str(uuid.uuid4())
    code, message = fault.error_code, fault.message
    if info.protocol == "rest-xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>localaws</HostId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif info.protocol == "json":
        error_type = _DYNAMODB_ERROR_NAMESPACE + code if info.service == "dynamodb" else code
        body = json.dumps({"__type": error_type, "message": message}).encode()
        version = _JSON_VERSION.get(info.service, "1.1")
        headers = [
            ("Content-Type", f"application/x-amz-json-{version}"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ]
    elif info.protocol == "cbor":
        body = _cbor_text_map({"__type": code, "message": message})
        headers = [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-query-error", f"{code};Sender"),
        ]
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{_xml(code)}</Code><Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers.append(("Content-Length", str(len(body))))
    return fault.http_status, headers, body


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 0x100:
        return bytes([major << 5 | 24, length])
    if length < 0x10000:
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")
    return bytes([major << 5 | 26]) + length.to_bytes(4, "big")


def _cbor_text_map(values: Mapping[str, str]) -> bytes:
    """A CBOR map of text strings (all an RPCv2 error body needs)."""
    out = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            encoded = text.encode()
            out += _cbor_head(3, len(encoded)) + encoded
    return bytes(out)
