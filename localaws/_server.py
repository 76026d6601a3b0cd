"""Serve the local AWS app with hypercorn: HTTP/1.1 and h2c (prior knowledge) on one loopback port."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ._app import MOTO_LOCK, LocalAWSApp, create_moto_app
from ._limits import LimitsConfig

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
#: largest request body accepted (hypercorn's WSGI default is 16 MiB; archive objects can be larger)
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
#: CloudWatch evaluates a standard-resolution alarm once a minute; locally more often is harmless
DEFAULT_ALARM_INTERVAL_S = 10.0


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Where and how the server listens."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    #: an already-bound listening socket inherited from the parent (race-free free port), or None
    listen_fd: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: seconds hypercorn waits for in-flight requests on SIGTERM
    graceful_timeout_s: float = 3.0
    #: stop when this process is gone (a test run killed with SIGKILL must not leave us behind)
    parent_pid: int | None = None
    #: apply localaws' Kinesis fixes (off only to measure moto as shipped)
    kinesis_fixes: bool = True
    #: enforce Kinesis's per-shard limits (scaled) and DynamoDB tables' write capacity, and publish
    #: AWS/Kinesis and AWS/DynamoDB metrics; None: no limits
    limits: LimitsConfig | None = None
    #: evaluate the CloudWatch alarms (and notify their SNS topics) every this many seconds; 0: never
    alarm_interval_s: float = DEFAULT_ALARM_INTERVAL_S

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, not {self.port}")
        if self.listen_fd is not None and self.listen_fd < 0:
            raise ValueError("listen_fd must be a file descriptor")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if self.graceful_timeout_s < 0:
            raise ValueError("graceful_timeout_s must not be negative")
        if self.alarm_interval_s < 0:
            raise ValueError("alarm_interval_s must not be negative (0: alarms are not evaluated)")
        if self.limits is not None and not self.kinesis_fixes:
            raise ValueError("limits mode needs the Kinesis fixes")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """``LOCALAWS_HOST``, ``LOCALAWS_PORT``; ``LOCALAWS_KINESIS_FIXES=0`` serves moto as shipped;
        ``LOCALAWS_LIMITS_SCALE=F`` turns limits mode on with that scale."""
        env = os.environ if environ is None else environ
        scale = env.get("LOCALAWS_LIMITS_SCALE")
        return cls(
            host=env.get("LOCALAWS_HOST", DEFAULT_HOST),
            port=int(env.get("LOCALAWS_PORT", DEFAULT_PORT)),
            kinesis_fixes=env.get("LOCALAWS_KINESIS_FIXES", "1") != "0",
            limits=LimitsConfig(scale=float(scale)) if scale else None,
        )


def build_app(config: ServerConfig) -> LocalAWSApp:
    import moto

    fixes: list[str] = []
    speedups: list[str] = []
    if config.kinesis_fixes:
        from ._dynamodb_fixes import apply_all as apply_dynamodb_fixes
        from ._kinesis_fixes import apply_all
        from ._moto_speedups import apply_all as apply_speedups

        fixes = apply_all() + apply_dynamodb_fixes()
        speedups = apply_speedups()
    limiter = None
    tables = None
    info: dict[str, object] = {"moto": moto.__version__, "kinesis_fixes": fixes, "speedups": speedups}
    if config.limits is not None:
        from ._kinesis_limits import install
        from ._limits import ShardLimiter

        limiter = ShardLimiter(config.limits)
        install(limiter)
        from ._dynamodb_limits import TableLimiter
        from ._dynamodb_throttle import install as install_table_limits

        tables = TableLimiter(burst_s=config.limits.dynamodb_burst_s)
        install_table_limits(tables)
        info["limits"] = config.limits.to_json()
    return LocalAWSApp(create_moto_app(), info=info, limiter=limiter, tables=tables)


def serve(config: ServerConfig, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT; ``on_ready(endpoint_url)`` once the socket is bound."""
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.config import Config
    from hypercorn.utils import wrap_app

    app = build_app(config)
    hyper = Config()
    hyper.bind = [f"fd://{config.listen_fd}"] if config.listen_fd is not None else [f"{config.host}:{config.port}"]
    hyper.wsgi_max_body_size = config.max_body_bytes
    hyper.graceful_timeout = config.graceful_timeout_s
    hyper.accesslog = None
    hyper.errorlog = logging.getLogger("localaws.hypercorn")
    hyper.keep_alive_timeout = 75.0  # SDK connection pools keep idle connections open
    sockets = hyper.create_sockets()  # binds now (port 0 becomes a real port) and serves these
    for sock in sockets.insecure_sockets:
        sock.listen(hyper.backlog)  # hypercorn listens later; connect before that would be refused
    port = sockets.insecure_sockets[0].getsockname()[1]
    os.environ.setdefault("MOTO_PORT", str(port))

    publisher = None
    if app.limiter is not None:
        from ._kinesis_metrics import MetricsPublisher

        publisher = MetricsPublisher(
            app.limiter, MOTO_LOCK, period_s=app.limiter.config.metrics_period_s, tables=app.tables
        )
        publisher.start()
    alarm_runner = None
    if config.alarm_interval_s > 0:
        from ._alarm_runner import AlarmRunner

        alarm_runner = AlarmRunner(MOTO_LOCK, interval_s=config.alarm_interval_s)
        app.alarm_runner = alarm_runner
        alarm_runner.start()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        endpoint = f"http://{config.host}:{port}"
        watchdog = None
        if config.parent_pid is not None:
            watchdog = asyncio.create_task(_watch_parent(config.parent_pid, stop))
        logger.info("serving moto over HTTP/1.1 and h2c at %s", endpoint)
        if on_ready is not None:
            on_ready(endpoint)
        wrapped = wrap_app(app, hyper.wsgi_max_body_size, "wsgi")
        try:
            await worker_serve(wrapped, hyper, sockets=sockets, shutdown_trigger=stop.wait)
        finally:
            if watchdog is not None:
                watchdog.cancel()

    try:
        asyncio.run(main())
    finally:
        if publisher is not None:
            publisher.stop()
        if alarm_runner is not None:
            alarm_runner.stop()
    logger.info("stopped")


async def _watch_parent(parent_pid: int, stop: asyncio.Event, interval_s: float = 1.0) -> None:
    while not stop.is_set():
        if os.getppid() != parent_pid:
            logger.warning("parent process %s is gone; stopping", parent_pid)
            stop.set()
            return
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            continue
