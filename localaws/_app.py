"""The WSGI application the server runs: moto behind one lock, fault injection and an admin endpoint.

Request flow: ``/_localaws/...`` is answered here (health, faults, stats); any other request is
classified (:func:`localaws._faults.classify`), failed if an armed fault matches, and otherwise
handed to moto's dispatcher while holding :data:`MOTO_LOCK`: moto's backends are not
thread-safe, and the body is drained under the lock too because moto may build it lazily.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from ._dynamodb_fixes.partiql_batch import set_statement_fault
from ._dynamodb_limits import TableLimiter
from ._faults import Fault, FaultTable, classify, render_error
from ._limits import ShardLimiter

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/_localaws/"
#: serialises every call into moto (one request at a time across all services)
MOTO_LOCK = threading.Lock()


def create_moto_app() -> WSGIApplication:
    """moto's own dispatcher: routes by the SigV4 credential scope, X-Amz-Target or path."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
    return app


class LocalAWSApp:
    """WSGI app: admin endpoint, then faults, then the serialised moto app."""

    def __init__(
        self,
        moto_app: WSGIApplication,
        *,
        faults: FaultTable | None = None,
        info: dict[str, Any],
        limiter: ShardLimiter | None = None,
        tables: TableLimiter | None = None,
    ) -> None:
        self._moto_app = moto_app
        #: limits mode's buckets and counters (GET /_localaws/limits), or None
        self.limiter = limiter
        #: limits mode's DynamoDB write capacity per table, or None
        self.tables = tables
        self.faults = faults if faults is not None else FaultTable()
        self._info = info
        #: (service, operation, HTTP status) -> requests answered; GET /_localaws/stats
        self.stats: Counter[tuple[str, str, int]] = Counter()
        #: (service, operation) -> seconds spent holding the one moto lock: where the stack's time goes
        self.busy_s: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._stats_lock = threading.Lock()
        self._apps: dict[tuple[str, str], WSGIApplication] = {}
        #: the alarm evaluator (localaws._alarm_runner.AlarmRunner), or None (GET /_localaws/alarms)
        self.alarm_runner: Any = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(ADMIN_PREFIX):
            return self._admin(environ, start_response, path[len(ADMIN_PREFIX) :].strip("/"))
        request = classify(environ)
        fault = self.faults.take(request.service, request.operation)
        if fault is not None:
            logger.info(
                "fault: %s %s -> %s %s", request.service, request.operation, fault.http_status, fault.error_code
            )
            _drain(environ)
            status, headers, body = render_error(request, fault)
            start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
            return [body]
        statement_fault = None
        if (request.service, request.operation) == ("dynamodb", "BatchExecuteStatement"):
            statement_fault = self.faults.take(request.service, request.operation, statements=True)
            if statement_fault is not None:
                logger.info("fault: statements %s -> %s", statement_fault.statements, statement_fault.error_code)
        statuses: list[int] = []
        app = self._backend_app(request.service, environ, path)

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        held_s = 0.0
        try:
            with MOTO_LOCK:
                entered = time.perf_counter()
                set_statement_fault(statement_fault)
                result = app(environ, recording_start_response)
                try:
                    return [b"".join(result)]
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
                    held_s = time.perf_counter() - entered
        finally:
            status = statuses[-1] if statuses else 500
            if status >= 500:
                logger.warning("%s %s answered %s", request.service, request.operation, status)
            with self._stats_lock:
                self.stats[(request.service, request.operation or "?", status)] += 1
                self.busy_s[(request.service, request.operation or "?")] += held_s

    def _backend_app(self, service: str, environ: WSGIEnvironment, path: str) -> WSGIApplication:
        """moto's per-service app, looked up once per (service, target prefix): moto's dispatcher
        scans every backend's URL patterns on each request."""
        get_application = getattr(self._moto_app, "get_application", None)
        signed = "HTTP_AUTHORIZATION" in environ  # unsigned requests take moto's guessing paths
        if get_application is None or not signed or path.startswith(_UNCACHED_PATHS) or service not in _CACHED_SERVICES:
            return self._moto_app
        key = (service, str(environ.get("HTTP_X_AMZ_TARGET", "")).split(".", 1)[0])
        app = self._apps.get(key)
        if app is None:
            app = get_application(environ)
            self._apps[key] = app
        return app

    def _admin(self, environ: WSGIEnvironment, start_response: StartResponse, route: str) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        try:
            if route == "health" and method == "GET":
                return _json(start_response, 200, {"status": "ok", "pid": os.getpid(), **self._info})
            if route == "stats" and method == "GET":
                with self._stats_lock:
                    rows = [
                        {"service": service, "operation": operation, "status": status, "count": count}
                        for (service, operation, status), count in sorted(self.stats.items())
                    ]
                    busy = [
                        {"service": service, "operation": operation, "seconds": round(seconds, 3)}
                        for (service, operation), seconds in sorted(self.busy_s.items(), key=lambda kv: -kv[1])
                    ]
                return _json(start_response, 200, {"requests": rows, "busy": busy})
            if route == "limits" and method == "GET":
                return _json(start_response, 200, self._limits_document())
            if route == "alarms" and method == "GET":
                runner = self.alarm_runner
                document = {"enabled": runner is not None, "interval_s": getattr(runner, "interval_s", None)}
                return _json(start_response, 200, {**document, "transitions": runner.history() if runner else []})
            if route == "faults" and method == "GET":
                return _json(start_response, 200, {"faults": self.faults.snapshot()})
            if route == "faults" and method == "POST":
                fault = Fault.from_json(json.loads(_drain(environ) or b"{}"))
                fault_id = self.faults.add(fault)
                logger.info("fault armed: %s", fault)
                return _json(start_response, 201, {"id": fault_id})
            if route == "faults" and method == "DELETE":
                return _json(start_response, 200, {"cleared": self.faults.clear()})
        except (ValueError, TypeError) as exc:
            return _json(start_response, 400, {"error": str(exc)})
        return _json(start_response, 404, {"error": f"no admin route {method} {ADMIN_PREFIX}{route}"})

    def _limits_document(self) -> dict[str, Any]:
        if self.limiter is None:
            return {"enabled": False, "shards": [], "tables": []}
        shards = [
            {
                "account": account,
                "region": region,
                "stream": stream,
                "shard": shard_id,
                "iterator_age_ms": counters.iterator_age_max_ms,
                **counters.values,
            }
            for (account, region, stream, shard_id), counters in sorted(self.limiter.totals().items())
        ]
        tables = [
            {
                "account": account,
                "region": region,
                "table": table,
                "capacity_units_per_s": counters.capacity_units_per_s,
                **counters.values,
            }
            for (account, region, table), counters in sorted((self.tables.totals() if self.tables else {}).items())
        ]
        return {"enabled": True, "config": self.limiter.config.to_json(), "shards": shards, "tables": tables}


#: services whose moto app depends only on the service and X-Amz-Target prefix (DynamoDB vs Streams)
_CACHED_SERVICES = frozenset({"kinesis", "dynamodb", "s3", "cloudwatch"})
#: paths moto routes specially (its own API, S3 Control)
_UNCACHED_PATHS = ("/moto-api", "/v20180820/", "/latest/")

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
_REASONS.update({503: "Service Unavailable", 429: "Too Many Requests", 403: "Forbidden"})


def _drain(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    data: bytes = stream.read(length) if length else stream.read()
    return data


def _json(start_response: StartResponse, status: int, document: Any) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
