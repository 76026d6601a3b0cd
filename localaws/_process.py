"""The test- and demo-facing handle: start the server as a child process, talk to it, stop it by PID."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ._app import ADMIN_PREFIX
from ._errors import StackAdminError, StackStartError
from ._limits import LimitsConfig, limits_to_args

logger = logging.getLogger(__name__)

FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """How to start the local stack process."""

    host: str = "127.0.0.1"
    #: 0 picks a free port (bound by the parent and inherited by the child: no race)
    port: int = 0
    region: str = DEFAULT_REGION
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 10.0
    #: where the child's stdout and stderr go; a new temporary file when None
    log_path: Path | None = None
    python: str = sys.executable
    kinesis_fixes: bool = True
    #: limits mode (Kinesis's per-shard limits, scaled, and AWS/Kinesis metrics); None: off
    limits: LimitsConfig | None = None
    #: evaluate the CloudWatch alarms every this many seconds (0: never); None: the server's default
    alarm_interval_s: float | None = None
    #: extra arguments for ``python -m localaws`` (e.g. ``("-v",)``)
    extra_args: tuple[str, ...] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, not {self.port}")
        if self.start_timeout_s <= 0 or self.stop_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if not self.region:
            raise ValueError("region must not be empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        """``LOCALAWS_PORT`` (default 0: a free port), ``AWS_REGION``, ``LOCALAWS_KINESIS_FIXES=0``
        to serve moto's Kinesis as shipped (to see what the fixes fix), and ``LOCALAWS_LIMITS_SCALE=F``
        for limits mode at that scale."""
        env = os.environ if environ is None else environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        scale = env.get("LOCALAWS_LIMITS_SCALE")
        return cls(
            port=int(env.get("LOCALAWS_PORT", "0")),
            region=region,
            kinesis_fixes=env.get("LOCALAWS_KINESIS_FIXES", "1") != "0",
            limits=LimitsConfig(scale=float(scale)) if scale else None,
        )


class LocalAWS:
    """A running ``python -m localaws`` child process.

    ``LocalAWS.start()`` returns once the server answers; ``stop()`` (or leaving the ``with``
    block) sends SIGTERM, then SIGKILL after ``stop_timeout_s``, to that PID only.
    """

    def __init__(
        self, process: subprocess.Popen[bytes], *, host: str, port: int, config: StackConfig, owns_log: bool = False
    ) -> None:
        self._process = process
        self.host = host
        self.port = port
        self.config = config
        self.log_path = config.log_path
        self._owns_log = owns_log

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def start(cls, port: int = 0, *, config: StackConfig | None = None) -> LocalAWS:
        config = config or StackConfig(port=port)
        if config.port != port and port != 0:
            config = StackConfig(**{**config.__dict__, "port": port})
        log_path = config.log_path
        owns_log = log_path is None
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="localaws-", suffix=".log")
            os.close(handle)
            log_path = Path(name)
        config = StackConfig(**{**config.__dict__, "log_path": log_path})

        command = [config.python, "-m", "localaws", "--host", config.host]
        pass_fds: tuple[int, ...] = ()
        listener: socket.socket | None = None
        if config.port == 0:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((config.host, 0))
            listener.listen(128)
            actual_port = listener.getsockname()[1]
            pass_fds = (listener.fileno(),)
            command += ["--port", str(actual_port), "--listen-fd", str(listener.fileno())]
        else:
            actual_port = config.port
            command += ["--port", str(actual_port)]
        command += ["--parent-pid", str(os.getpid())]
        if not config.kinesis_fixes:
            command.append("--no-kinesis-fixes")
        if config.limits is not None:
            command += limits_to_args(config.limits)
        if config.alarm_interval_s is not None:
            command += ["--alarm-interval", str(config.alarm_interval_s)]
        command += list(config.extra_args)
        env = {**os.environ, **config.extra_env}
        # the child imports this very package, wherever the parent's working directory is
        package_root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        try:
            with open(log_path, "ab") as log:
                process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=pass_fds, env=env
                )
        finally:
            if listener is not None:
                listener.close()  # the child holds its own copy
        stack = cls(process, host=config.host, port=actual_port, config=config, owns_log=owns_log)
        logger.info("localaws pid %s starting on %s (log %s)", process.pid, stack.endpoint_url, log_path)
        try:
            stack._wait_ready(config.start_timeout_s)
        except BaseException:
            stack.stop()
            raise
        return stack

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StackStartError(
                    f"localaws exited with status {self._process.returncode} before it was ready:\n{self.log_tail()}"
                )
            try:
                self.health(timeout_s=1.0)
                return
            except (OSError, StackAdminError) as exc:
                last_error = exc
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(0.05)
        raise StackStartError(f"localaws did not answer within {timeout_s:.0f} s ({last_error}):\n{self.log_tail()}")

    def stop(self) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit status. Safe to call twice.

        A temporary log this object created is removed after a clean exit and kept otherwise.
        """
        process = self._process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.config.stop_timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("localaws pid %s ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait(self.config.stop_timeout_s)
        if self._owns_log and process.returncode == 0 and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self._owns_log = False
        return process.returncode

    def __enter__(self) -> LocalAWS:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- facts -------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def region(self) -> str:
        return self.config.region

    def is_running(self) -> bool:
        return self._process.poll() is None

    def env(self) -> dict[str, str]:
        """Variables that point boto3 (and our settings) at this stack with fake credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for ``service`` on this stack (fake credentials, standard retries)."""
        import boto3
        from botocore.config import Config

        session: Any = boto3.session.Session(
            aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY, region_name=self.region
        )
        options: dict[str, Any] = {"retries": {"mode": "standard"}, **config}
        if service == "s3":
            options.setdefault("s3", {"addressing_style": "path"})
        return session.client(service, endpoint_url=self.endpoint_url, config=Config(**options))

    def log_tail(self, max_bytes: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - max_bytes))
            return log.read().decode(errors="replace")

    # -- admin endpoint ----------------------------------------------------------------------
    def health(self, timeout_s: float = 5.0) -> dict[str, Any]:
        return self._admin("GET", "health", timeout_s=timeout_s)

    def inject_fault(
        self,
        *,
        service: str,
        operation: str | None = None,
        error_code: str,
        http_status: int | None = None,
        count: int = 1,
        message: str = "injected by localaws",
        statements: tuple[int, ...] = (),
    ) -> int:
        """Fail the next ``count`` matching requests with the real error shape; returns the fault id.

        ``http_status`` defaults to what AWS uses for that code (503 for SlowDown, else 400).
        ``statements`` (DynamoDB BatchExecuteStatement only): fail just those statements of the
        next ``count`` calls, with ``error_code`` in their per-statement ``Error``.
        """
        document = {
            "service": service,
            "operation": operation,
            "error_code": error_code,
            "http_status": http_status,
            "count": count,
            "message": message,
            "statements": list(statements),
        }
        return int(self._admin("POST", "faults", document)["id"])

    def stats(self) -> list[dict[str, Any]]:
        """Requests answered so far, by service, operation and HTTP status (faults not included)."""
        return list(self._admin("GET", "stats")["requests"])

    def busy(self) -> list[dict[str, Any]]:
        """Seconds each (service, operation) held the stack's one moto lock, most first: which call
        bounds the embedded stack."""
        return list(self._admin("GET", "stats")["busy"])

    def limits(self) -> dict[str, Any]:
        """Limits mode: ``{"enabled", "config", "shards": [cumulative counters per shard]}``."""
        return self._admin("GET", "limits")

    def alarm_transitions(self) -> list[dict[str, Any]]:
        """Every alarm state change the stack made so far (alarm, old, new, at, reason, delivered),
        oldest first; empty when it does not evaluate alarms."""
        return list(self._admin("GET", "alarms")["transitions"])

    def faults(self) -> list[dict[str, Any]]:
        """Faults still armed, with how many times each will still fire."""
        return list(self._admin("GET", "faults")["faults"])

    def clear_faults(self) -> int:
        """Disarm every fault; returns how many were still armed."""
        return int(self._admin("DELETE", "faults")["cleared"])

    def _admin(
        self, method: str, route: str, document: Mapping[str, Any] | None = None, *, timeout_s: float = 10.0
    ) -> dict[str, Any]:
        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(
            f"{self.endpoint_url}{ADMIN_PREFIX}{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                result: dict[str, Any] = json.loads(response.read() or b"{}")
                return result
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise StackAdminError(f"{method} {ADMIN_PREFIX}{route}: HTTP {exc.code} {detail}") from exc
