"""The spool's event-frame writer: the one thing every put() does to the spool.

A segment's event frame (format 3, see :mod:`._spool_format`) is, little-endian::

    [u32 check][u32 index][u16 length][u8 0][u8 kind 0xE3][payload]     check = adler32(payload) XOR index

The payload is copied first, then the header with the kind byte last (the commit mark).

:func:`new_frame_writer` makes the compiled writer, ``producer._cframes.FrameWriter``
(``producer/_cframes.c``, built by ``setup.py``; one C call per event), when it was built, and a
:class:`PyFrameWriter` otherwise: the same bytes (the tests compare them), about 0.3 us more per
event. :data:`COMPILED` says which.

A writer writes into a buffer attached with ``attach(buffer, start, limit, first)``: ``start`` is
where the first payload goes (its header in the 12 bytes before), ``limit`` where the room ends,
``first`` the append index of its first event. ``append(payload)`` returns the event's append
index; when the payload does not fit before ``limit``, is longer than 65,535 bytes, or nothing is
attached, it returns ``on_full(payload)`` instead (the spool seals the segment, attaches the next,
and appends again, or raises). ``detach()`` releases the buffer (a memory map cannot be closed
while exported).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Protocol

from ._spool_format import EVENT_FRAME, FRAME_HEADER, MAX_PAYLOAD_BYTES, checksum

__all__ = ["COMPILED", "FrameWriterType", "PyFrameWriter", "new_frame_writer"]

_FRAME = FRAME_HEADER.size
if _FRAME != 12 or EVENT_FRAME != 0xE3 or MAX_PAYLOAD_BYTES != 0xFFFF:  # _cframes.c spells them as literals
    raise ImportError("producer/_cframes.c is out of date with the frame format")
logger = logging.getLogger(__name__)
_pack_header = FRAME_HEADER.pack_into
_checksum = checksum


class FrameWriterType(Protocol):
    """What the spool needs of a writer (both implementations)."""

    start: int
    count: int
    first: int

    def attach(self, buffer: object, start: int, limit: int, first: int, /) -> None: ...
    def detach(self) -> None: ...
    def append(self, payload: bytes, /) -> int: ...
    @property
    def appended(self) -> int: ...
    @property
    def attached(self) -> bool: ...


class PyFrameWriter:
    """The pure-Python writer: the reference for ``producer._cframes.FrameWriter``."""

    __slots__ = ("_on_full", "_view", "_limit", "start", "count", "first")

    def __init__(self, on_full: Callable[[bytes], int]) -> None:
        self._on_full = on_full
        self._view: memoryview | None = None
        self._limit = 0
        self.start = 0
        self.count = 0
        self.first = 0

    def attach(self, buffer: object, start: int, limit: int, first: int, /) -> None:
        view = memoryview(buffer)  # type: ignore[arg-type]
        if view.readonly:
            view.release()
            raise BufferError("Object is not writable.")
        if not (_FRAME <= start <= limit <= view.nbytes) or first < 0:
            view.release()
            raise ValueError("attach: need 12 <= start <= limit <= len(buffer) and first >= 0")
        self.detach()
        self._view = view
        self._limit = limit
        self.start = start
        self.first = first
        self.count = 0

    def detach(self) -> None:
        view, self._view = self._view, None
        if view is not None:
            view.release()

    def append(self, payload: bytes, /) -> int:
        start = self.start
        length = len(payload)
        end = start + length
        view = self._view
        if end > self._limit or view is None or length > 0xFFFF:  # MAX_PAYLOAD_BYTES
            return self._on_full(payload)
        index = self.count
        view[start:end] = payload
        # then the header; pack_into writes its fields in order: the kind byte, the commit mark, last
        _pack_header(view, start - 12, _checksum(payload) ^ index, index, length, 0, 0xE3)  # _FRAME, EVENT_FRAME
        self.start = end + 12
        self.count = index + 1
        return self.first + index

    @property
    def appended(self) -> int:
        return self.first + self.count

    @property
    def attached(self) -> bool:
        return self._view is not None


try:
    from ._cframes import FrameWriter as _CFrameWriter  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # not built (no C compiler at install time): the Python writer, same bytes
    _CFrameWriter = None

#: whether the compiled writer is used (``NICELIST_PURE_PYTHON=1`` asks for the Python one)
COMPILED = _CFrameWriter is not None and os.environ.get("NICELIST_PURE_PYTHON", "") in ("", "0")
_told = False  # the pure-Python writer is logged once per process


def new_frame_writer(on_full: Callable[[bytes], int], *, compiled: bool | None = None) -> FrameWriterType:
    """A writer calling ``on_full`` when a payload does not fit: the compiled one when
    :data:`COMPILED` (or ``compiled=True``, when built), else the Python one."""
    if compiled is None:
        compiled = COMPILED
    if compiled and _CFrameWriter is None:
        raise ImportError("producer._cframes was not built (no C compiler when nicelist was installed)")
    global _told
    if not compiled and not _told:
        _told = True
        why = "NICELIST_PURE_PYTHON is set" if _CFrameWriter is not None else "producer._cframes is not built"
        logger.info("spool: the pure-Python frame writer runs (%s): the same bytes, ~0.3 us more per put()", why)
    writer: FrameWriterType = (_CFrameWriter if compiled else PyFrameWriter)(on_full)
    return writer
