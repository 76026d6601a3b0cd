"""A type checker sees the SDK's types (py.typed): mypy run on a small elf app, from outside the
source tree, with the packages found only through PYTHONPATH as an installed package would be."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
import asyncio

import schemas
from producer import AsyncProducer, DeliveryFuture, Producer, ProducerConfig, ProducerMetrics, Receipt, ValidationError


def sync_app(config: ProducerConfig) -> Receipt:
    with Producer(config) as producer:
        future: DeliveryFuture = producer.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
        pending: int = producer.flush(1.0)
        metrics: ProducerMetrics = producer.metrics()
        sent: int = metrics.sent + pending
        print(sent, metrics.as_dict()["accepted"])
        return future.result(timeout=5)


async def async_app(config: ProducerConfig) -> Receipt:
    async with AsyncProducer(config) as producer:
        try:
            future = await producer.put({"kid_id": "k-1", "elf_id": "elf-7", "behaviour": "NICE"})
        except ValidationError as refusal:
            field: str = refusal.field
            raise RuntimeError(field) from refusal
        receipt = await future
        pending: int = await producer.flush(1.0)
        print(receipt.shard_id, receipt.subsequence_number + pending)
        return receipt


def old_caller(producer: Producer) -> None:
    try:
        producer.put({"kid_id": "k-1"})
    except schemas.ValidationError as refusal:
        print(refusal.field)


asyncio.run(async_app(ProducerConfig(stream_name="s")))
"""

BAD = """
from producer import AsyncProducer, Producer, ProducerConfig


def sync_app(config: ProducerConfig) -> None:
    with Producer(config) as producer:
        shard: int = producer.put({"kid_id": "k-1"}).result().shard_id  # BAD-1: a str
        producer.metrics()["sent"]  # BAD-2: a dataclass now, not a dict


async def async_app(config: ProducerConfig) -> None:
    async with AsyncProducer(config) as producer:
        future = await producer.put({"kid_id": "k-1"})
        receipt = await future
        receipt.sequence_number + 1  # BAD-3: a str
        pending: str = await producer.flush()  # BAD-4: an int
"""


def run_mypy(tmp_path: Path, *scripts: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    env["PYTHONPATH"] = str(ROOT)  # like site-packages: found through sys.path, so py.typed is required
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            os.devnull,
            "--cache-dir",
            str(tmp_path / "cache"),
            "--show-error-codes",
            *scripts,
        ],
        cwd=tmp_path,  # outside the source tree: the packages are not sources here
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mypy_sees_the_sdk_types_in_an_app(tmp_path: Path) -> None:
    (tmp_path / "good_app.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "bad_app.py").write_text(textwrap.dedent(BAD))
    result = run_mypy(tmp_path, "good_app.py", "bad_app.py")
    lines = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert not [line for line in lines if line.startswith("good_app.py")], result.stdout
    assert "import-untyped" not in result.stdout and "import-not-found" not in result.stdout, result.stdout
    bad = {int(line.split(":")[1]) for line in lines if line.startswith("bad_app.py")}
    marked = {n for n, text in enumerate(textwrap.dedent(BAD).splitlines(), 1) if "# BAD-" in text}
    assert bad == marked, result.stdout
    assert result.returncode == 1
