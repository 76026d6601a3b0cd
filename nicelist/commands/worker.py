"""``nicelist worker``: run one KCL worker (the MultiLangDaemon and its Python record processors)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from types import FrameType

from . import _types
from ._options import add_aws, add_kcl_properties, add_names, aws_settings, pipeline_names

#: after SIGTERM/SIGINT, how long the daemon may take to shut down gracefully before SIGKILL
STOP_TIMEOUT_S = 60.0

HELP = "run a KCL worker: the MultiLangDaemon with one nicelist record processor per shard lease"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_names(parser, "stream", "table", "bucket", "application")
    add_aws(parser)
    parser.add_argument("--worker-id", help="stable worker id (default: NICELIST_WORKER_ID or the host name)")
    parser.add_argument(
        "--properties",
        default="local",
        help="properties template: local, aws or a file path (default: local)",
    )
    add_kcl_properties(parser, "--set", dest="overrides", help="override one KCL property (repeatable)")
    parser.add_argument(
        "--run-dir", type=_types.directory, help="where the effective properties file goes (default: a temp dir)"
    )
    parser.add_argument(
        "--archive-max-file-age-s", type=_types.positive_float, help="close archive files after this many seconds"
    )
    parser.add_argument(
        "--archive-max-file-bytes", type=_types.positive_int, help="close archive files at about this size"
    )
    parser.add_argument("--log-level", default="INFO", help="daemon and processor log level (default: INFO)")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from consumer import ProcessorConfig
    from consumer.daemon import WorkerConfig, WorkerProcess

    names = pipeline_names(args)
    aws = aws_settings(args)
    processor = ProcessorConfig.from_env()
    if args.archive_max_file_age_s is not None:
        processor = dataclasses.replace(processor, archive_max_file_age_s=args.archive_max_file_age_s)
    if args.archive_max_file_bytes is not None:
        processor = dataclasses.replace(processor, archive_max_file_bytes=args.archive_max_file_bytes)
    processor = dataclasses.replace(processor, names=names, aws=aws)
    config = WorkerConfig.from_env(
        names=names,
        aws=aws,
        worker_id=args.worker_id,
        template=args.properties,
        properties=dict(args.overrides),
        processor=processor,
        run_dir=args.run_dir,
        log_level=args.log_level,
    )
    worker = WorkerProcess.start(config)
    print(
        f"worker {config.worker_id} (pid {worker.pid}) on stream {names.stream}; properties {worker.properties_path}",
        file=sys.stderr,
    )

    stopping: list[float] = []  # when the first signal arrived (monotonic)

    def _graceful(signum: int, frame: FrameType | None) -> None:
        # Only signal here: waiting inside a handler would deadlock on Popen's wait lock.
        if not stopping:
            print(f"nicelist worker: signal {signum}, stopping gracefully", file=sys.stderr)
            stopping.append(time.monotonic())
        worker.terminate()

    signal.signal(signal.SIGTERM, _graceful)
    signal.signal(signal.SIGINT, _graceful)
    while True:
        try:
            status = worker.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if stopping and time.monotonic() - stopping[0] > STOP_TIMEOUT_S:
                print(f"nicelist worker: still up {STOP_TIMEOUT_S:.0f} s after the signal; killing it", file=sys.stderr)
                return worker.kill()
            continue
        # the JVM ends with 128 + SIGTERM after a graceful stop we asked for: that is success
        return 0 if stopping and status in (128 + signal.SIGTERM, -signal.SIGTERM) else status
