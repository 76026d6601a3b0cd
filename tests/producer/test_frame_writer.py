"""The spool's frame writers: the compiled one (producer/_cframes.c) writes exactly the bytes of
the pure-Python one, returns the same indexes, and hands back what does not fit the same way."""

from __future__ import annotations

import gc
import mmap
import os
import shutil
import sysconfig
import weakref
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producer import _frame_writer
from producer._frame_writer import new_frame_writer
from producer._spool import Spool
from producer._spool_format import EVENT_FRAME, FRAME_HEADER, checksum

try:
    from producer import _cframes  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - not built
    _cframes = None

compiled_only = pytest.mark.skipif(_cframes is None, reason="producer._cframes is not built (no C compiler)")
WRITERS = [
    pytest.param(False, id="python"),
    pytest.param(True, id="compiled", marks=compiled_only),
]


def test_the_compiled_writer_is_built_where_there_is_a_compiler() -> None:
    """A missing extension would silently cost the spool's speed target (bench.producer)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]  # what setuptools compiles with
    if shutil.which(compiler) is None:
        pytest.skip("no C compiler here: the pure-Python writer is the one that runs")
    assert _cframes is not None, (
        "producer._cframes is not built although a C compiler is here: install the package again "
        "(python3 -m pip install -e '.[test]') to build producer/_cframes.c"
    )
    assert _frame_writer.COMPILED or os.environ.get("NICELIST_PURE_PYTHON") not in (None, "", "0")


@compiled_only
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12_000))
def test_the_compiled_adler32_is_zlibs(data: bytes) -> None:
    assert _cframes.adler32(data) == zlib.adler32(data)


def test_the_compiled_adler32_at_the_block_edges() -> None:
    if _cframes is None:
        pytest.skip("producer._cframes is not built")
    for size in (0, 1, 3, 4, 5, 5551, 5552, 5553, 11104, 70_000):
        data = b"\xff" * size  # the largest sums: where a missed modulo would overflow
        assert _cframes.adler32(data) == zlib.adler32(data), size


def _run(compiled: bool, payloads: list[bytes], size: int) -> tuple[bytes, list[int], list[int]]:
    """Write ``payloads`` into buffers of ``size`` bytes, starting a new one when one is full (as
    the spool does); return every buffer's bytes, the indexes, and the payload lengths handed back."""
    buffers: list[bytearray] = []
    full: list[int] = []

    def on_full(payload: bytes) -> int:
        full.append(len(payload))
        if len(payload) > 0xFFFF or 12 + len(payload) > size - 8:
            raise ValueError("too large")
        buffers.append(bytearray(size))
        writer.attach(buffers[-1], 12, size - 8, writer.appended)
        return writer.append(payload)

    writer = new_frame_writer(on_full, compiled=compiled)
    indexes = [writer.append(p) for p in payloads]
    writer.detach()
    return b"".join(buffers), indexes, full


@compiled_only
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=60), st.integers(min_value=40, max_value=2_000))
def test_both_writers_write_the_same_bytes(payloads: list[bytes], size: int) -> None:
    payloads = [p for p in payloads if 12 + len(p) <= size - 20]
    assert _run(True, payloads, size) == _run(False, payloads, size)


@pytest.mark.parametrize("compiled", WRITERS)
def test_a_frame_is_the_documented_bytes(compiled: bool) -> None:
    buffer = bytearray(256)
    writer = new_frame_writer(lambda p: pytest.fail("nothing should be handed back"), compiled=compiled)
    writer.attach(buffer, 20, 200, 1_000)
    assert writer.append(b"first") == 1_000
    assert writer.append(bytearray(b"second")) == 1_001  # any bytes-like payload
    assert writer.append(memoryview(b"third")) == 1_002
    assert (writer.start, writer.count, writer.first, writer.appended) == (20 + 17 + 18 + 17, 3, 1_000, 1_003)
    at = 8
    for index, payload in enumerate((b"first", b"second", b"third")):
        header = FRAME_HEADER.unpack_from(buffer, at)
        assert header == (checksum(payload) ^ index, index, len(payload), 0, EVENT_FRAME)
        length = len(payload)
        assert buffer[at + 12 : at + 12 + length] == payload
        at += 12 + length
    assert not any(buffer[at:]) and not any(buffer[:8])


@pytest.mark.parametrize("compiled", WRITERS)
def test_what_does_not_fit_is_handed_back(compiled: bool) -> None:
    handed: list[int] = []

    def on_full(payload: bytes) -> int:
        handed.append(len(payload))
        return -7

    writer = new_frame_writer(on_full, compiled=compiled)
    assert writer.append(b"x") == -7  # nothing attached
    buffer = bytearray(70_000 + 64)
    writer.attach(buffer, 12, 100, 0)
    assert writer.append(b"a" * 88) == 0  # ends exactly at the limit
    assert writer.append(b"") == -7  # no room for even a header
    writer.attach(buffer, 12, len(buffer), 5)
    assert writer.append(b"b" * 0x10000) == -7  # longer than a frame's u16 length
    assert writer.append(b"b" * 0xFFFF) == 5
    writer.detach()
    assert writer.append(b"y") == -7
    assert handed == [1, 0, 0x10000, 1]


@pytest.mark.parametrize("compiled", WRITERS)
def test_attach_refuses_what_it_cannot_write(compiled: bool) -> None:
    writer = new_frame_writer(lambda p: -1, compiled=compiled)
    with pytest.raises(BufferError):
        writer.attach(b"read only" * 10, 12, 40, 0)
    for start, limit, first in ((11, 40, 0), (30, 20, 0), (12, 91, 0), (12, 40, -1)):
        with pytest.raises(ValueError):
            writer.attach(bytearray(90), start, limit, first)
    assert not writer.attached


@pytest.mark.parametrize("compiled", WRITERS)
def test_a_map_closes_once_detached(compiled: bool) -> None:
    mapped = mmap.mmap(-1, 4096)
    writer = new_frame_writer(lambda p: -1, compiled=compiled)
    writer.attach(mapped, 12, 4096, 0)
    writer.append(b"event")
    with pytest.raises(BufferError):
        mapped.close()  # exported: the writer still points into it
    writer.detach()
    mapped.close()
    assert writer.append(b"later") == -1


@pytest.mark.parametrize("compiled", WRITERS)
def test_a_writer_and_its_owner_are_collected_together(compiled: bool) -> None:
    class Owner:
        def __init__(self) -> None:
            self.writer = new_frame_writer(self.full, compiled=compiled)  # a cycle, as in Spool
            self.writer.attach(bytearray(64), 12, 64, 0)

        def full(self, payload: bytes) -> int:
            return -1

    owner = Owner()
    gone = weakref.ref(owner)
    del owner
    gc.collect()
    assert gone() is None


def _segments(tmp_path: Path, name: str, compiled: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    monkeypatch.setattr(_frame_writer, "COMPILED", compiled)
    spool = Spool(tmp_path / name, max_bytes=1 << 20, segment_bytes=8192, stream="s")
    appended = [spool.append(i.to_bytes(4, "big") * (1 + i % 50)) for i in range(400)]
    assert appended == list(range(400))
    spool.close()
    return {p.name: p.read_bytes() for p in sorted((tmp_path / name).glob("*.seg"))}


@compiled_only
def test_a_spool_written_by_either_writer_is_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = _segments(tmp_path, "python", False, monkeypatch)
    compiled = _segments(tmp_path, "compiled", True, monkeypatch)
    assert len(python) > 5 and python == compiled
