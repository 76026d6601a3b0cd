"""What a spool directory holds when a producer opens it: the backlog to replay, the damage found
(logged with the file and byte ranges, counted in events), and foreign segments moved aside.

A segment is foreign when its header names another stream, region or endpoint than the spool's
(only the fields both sides know are compared): it is moved to ``foreign/`` with a WARNING and
never sent. A segment whose header names nothing (format 1 or 2 of older versions, or both header
copies damaged) is taken as the directory's: SPOOL already names the directory's stream.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ._spool_files import FOREIGN_DIR, SEGMENT_SUFFIX, SPARE_NAME, read_index, spool_error, unlink
from ._spool_format import SegmentScan, scan_segment

logger = logging.getLogger(__name__)


@dataclass
class BacklogSegment:
    """A segment found at open: its valid events are replayed, then acknowledged."""

    id: int
    path: Path
    frames: int  # valid event frames found
    disk: int  # bytes the file takes
    count: int | None  # events it held when written (INDEX or seal), if known


@dataclass
class Recovery:
    """The outcome of opening a spool directory."""

    backlog: list[BacklogSegment] = field(default_factory=list)
    events_lost: int = 0
    #: False when some loss could only be bounded from below (damage at the end of a crashed segment)
    exact: bool = True
    bytes_lost: int = 0
    foreign: list[Path] = field(default_factory=list)  # where refused segments were moved


def foreign_reason(found: Mapping[str, object] | None, identity: Mapping[str, str]) -> str | None:
    """Why a segment naming ``found`` does not belong to a spool of ``identity``, or None.

    Only what both name is compared. Endpoints differ for one stream when one of them is a local
    emulator (its port changes from run to run, and tests replay a moto server's spool in-process):
    a loopback endpoint on either side is not compared."""
    if not found:
        return None
    for key, value in identity.items():
        theirs = found.get(key)
        if value is None or theirs is None or theirs == value:
            continue
        if key == "endpoint" and (_loopback(value) or _loopback(str(theirs))):
            continue
        return f"its {key} is {theirs!r}, this spool's is {value!r}"
    return None


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def recover(directory: Path, identity: Mapping[str, str]) -> Recovery:
    """Scan every segment of ``directory``: the backlog, the losses (logged), foreign ones moved aside."""
    unlink(directory / SPARE_NAME)  # a spare left by a crash holds nothing
    index = read_index(directory)
    recovery = Recovery()
    for path in sorted(directory.glob(f"*{SEGMENT_SUFFIX}")):
        try:
            segment_id = int(path.stem)
        except ValueError:
            logger.warning("spool %s: ignoring unexpected file %s", directory, path.name)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise spool_error(exc, path, "read spool segment") from exc
        scan = scan_segment(data, expected=index.get(segment_id))
        reason = foreign_reason(scan.identity, identity)
        if reason is not None:
            recovery.foreign.append(_move_aside(directory, path, reason, len(scan.frames)))
            continue
        _report(path, scan, recovery)
        if not scan.frames:
            unlink(path)
            continue
        count = scan.sealed_frames if scan.sealed_frames is not None else index.get(segment_id)
        recovery.backlog.append(BacklogSegment(segment_id, path, len(scan.frames), len(data), count))
    if recovery.backlog:
        logger.info(
            "spool %s: %s unacknowledged events in %s segments to replay",
            directory,
            sum(s.frames for s in recovery.backlog),
            len(recovery.backlog),
        )
    return recovery


def replay_frames(path: Path, frames: int, count: int | None) -> list[bytes]:
    """The payloads of the first ``frames`` valid event frames of a backlog segment."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise spool_error(exc, path, "read spool segment") from exc
    found = scan_segment(data, expected=count).frames[:frames]
    return [data[offset : offset + length] for offset, length in found]


def _move_aside(directory: Path, path: Path, reason: str, events: int) -> Path:
    target_dir = directory / FOREIGN_DIR
    target = target_dir / path.name
    try:
        target_dir.mkdir(mode=0o700, exist_ok=True)
        n = 0
        while target.exists():
            n += 1
            target = target_dir / f"{path.name}.{n}"
        os.replace(path, target)
    except OSError as exc:
        raise spool_error(exc, path, "move a foreign segment aside") from exc
    logger.warning(
        "spool segment %s belongs to another spool (%s): refused, %s events NOT sent, moved to %s",
        path,
        reason,
        events,
        target,
    )
    return target


def _report(path: Path, scan: SegmentScan, recovery: Recovery) -> None:
    if scan.torn_tail is not None:
        start, end = scan.torn_tail
        logger.warning(
            "spool segment %s: torn last frame at bytes %s-%s (an append that never returned, not accepted)",
            path,
            start,
            end,
        )
    if scan.damaged or scan.events_lost:
        recovery.events_lost += scan.events_lost
        recovery.bytes_lost += scan.bytes_lost
        recovery.exact = recovery.exact and scan.exact
        logger.warning(
            "spool segment %s: %s%s event(s) LOST in %s damaged byte range(s), %s bytes (byte ranges %s); "
            "%s valid events kept",
            path,
            "" if scan.exact else "at least ",
            scan.events_lost,
            len(scan.damaged),
            scan.bytes_lost,
            scan.damaged[:10],
            len(scan.frames),
        )
