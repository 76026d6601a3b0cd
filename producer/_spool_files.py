"""The spool directory's own files: its lock, its SPOOL metadata, its INDEX of segment counts, the
check that it is writable, and the translation of file system errors into SpoolErrors.

Layout of a spool directory::

    SPOOL                       metadata written at creation: format and the identity it belongs to
    LOCK                        flock()ed by the live producer (older versions locked only this file)
    INDEX                       event count of every sealed segment (rewritten when one is sealed)
    00000000000000000007.seg    segment files, appended in id order
    SPARE                       at times: an acknowledged segment, zeroed and renamed to be the next one
    foreign/                    segments that name another stream or endpoint, moved aside, never sent

The live producer flock()s the directory itself (and LOCK, for older versions): a lock held by
inode, so deleting LOCK while a producer runs lets no second one in.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import mmap
import os
from collections.abc import Mapping
from pathlib import Path

from ._errors import SpoolError, SpoolFullError, SpoolIOError, SpoolLockedError, SpoolPermissionError
from ._errors import SpoolStreamMismatchError as SpoolStreamMismatchError

logger = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".seg"
LOCK_NAME = "LOCK"
META_NAME = "SPOOL"
INDEX_NAME = "INDEX"
SPARE_NAME = "SPARE"  # an acknowledged segment kept to be the next one: its blocks and pages are ready
FOREIGN_DIR = "foreign"
PROBE_NAME = ".probe"


def spool_error(exc: OSError, path: str | os.PathLike[str], doing: str) -> SpoolError:
    """The SpoolError subclass for a file system error while ``doing`` something to ``path``."""
    code = exc.errno
    name = errno.errorcode.get(code, str(code)) if code is not None else "?"
    message = f"cannot {doing} {path}: {exc.strerror or exc} [{name}]"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return SpoolFullError(message + " (out of disk space or inodes)", path=path)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SpoolPermissionError(message, path=path)
    return SpoolIOError(message, path=path)


def segment_path(directory: Path, segment_id: int) -> Path:
    return directory / f"{segment_id:020d}{SEGMENT_SUFFIX}"


class DirectoryLock:
    """The exclusive flock() on a spool directory (and on its LOCK file, for older versions)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.dir_fd = -1
        self.lock_fd = -1
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise spool_error(exc, directory, "create spool directory") from exc
        try:
            self.dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise spool_error(exc, directory, "open spool directory") from exc
        try:
            fcntl.flock(self.dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock_path = directory / LOCK_NAME
            try:
                self.lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise spool_error(exc, lock_path, "create the lock file") from exc
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what producers before format 2 lock
        except OSError as exc:
            self.release()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SpoolLockedError(f"spool {directory} is in use by another live producer", path=directory) from exc
            raise spool_error(exc, directory, "lock spool") from exc
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        for fd in (self.lock_fd, self.dir_fd):
            if fd >= 0:
                os.close(fd)
        self.lock_fd = self.dir_fd = -1

    def forget(self) -> None:
        """In a forked child: close this process's descriptors (the parent's flock stays)."""
        self.release()


def check_writable(directory: Path) -> None:
    """Create, write and delete a probe file: what appending and acknowledging need. Raises
    SpoolPermissionError (or another SpoolError) now rather than at the first put() or ack."""
    probe = directory / PROBE_NAME
    try:
        fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
    except OSError as exc:
        raise spool_error(exc, probe, "write in the spool directory") from exc
    try:
        probe.unlink()
    except OSError as exc:
        raise spool_error(exc, probe, "delete in the spool directory (acknowledgements delete segments)") from exc
    for path in directory.glob(f"*{SEGMENT_SUFFIX}"):
        if not os.access(path, os.R_OK):
            raise SpoolPermissionError(f"cannot read spool segment {path}", path=path)


def sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise spool_error(exc, directory, "sync spool directory") from exc


def unlink(path: Path, doing: str = "delete spool segment") -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise spool_error(exc, path, doing) from exc


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise spool_error(exc, path, f"write {path.name}") from exc


def check_metadata(directory: Path, identity: Mapping[str, str], format_: int) -> None:
    """Refuse a directory made for another stream; record this identity in a new (or older) one."""
    path = directory / META_NAME
    stream = identity.get("stream")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise spool_error(exc, path, "read spool metadata") from exc
    if raw is not None:
        try:
            meta = json.loads(raw)
            recorded = meta["stream"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SpoolError(f"spool metadata {path} is unreadable ({exc!r}); refusing to guess", path=path) from exc
        if stream is not None and recorded is not None and recorded != stream:
            raise SpoolStreamMismatchError(
                f"spool {directory} belongs to stream {recorded!r}, not {stream!r}: its events must not "
                f"be sent to another stream (use another spool_dir)",
                path=directory,
            )
        if recorded is not None or stream is None:
            return
    write_atomically(path, json.dumps({"format": format_, "stream": stream, **identity}) + "\n")
    sync_directory(directory)


def read_index(directory: Path) -> dict[int, int]:
    """Event counts of sealed segments by id, from INDEX; empty (logged) if missing or unreadable:
    losses then count as "at least" where a seal frame is gone."""
    path = directory / INDEX_NAME
    try:
        raw = json.loads(path.read_bytes())
        return {int(k): int(v) for k, v in raw["segments"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("spool index %s is unreadable (%r): damage counts may be lower bounds", path, exc)
        return {}


def write_index(directory: Path, counts: Mapping[int, int]) -> None:
    write_atomically(directory / INDEX_NAME, json.dumps({"segments": {str(k): v for k, v in counts.items()}}))


#: madvise(2) MADV_POPULATE_WRITE (Linux 5.14); the mmap module does not name it
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)


def map_segment(fd: int, size: int) -> mmap.mmap:
    """A shared writable map of the file, every page faulted in at once (far cheaper than one page
    fault per few appends)."""
    mapped = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        mapped.madvise(_MADV_POPULATE_WRITE)
    except (OSError, ValueError):  # pragma: no cover - kernels before 5.14
        pass
    return mapped


_ZEROS = memoryview(b"")


def zeros(size: int) -> memoryview:
    """``size`` zero bytes without allocating them anew for every recycled segment."""
    global _ZEROS
    if len(_ZEROS) < size:
        _ZEROS = memoryview(bytes(size))
    return _ZEROS[:size]
