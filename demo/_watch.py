"""Watching the archive fill up while the workers catch up (the demo's and the benchmark's probe).

Each :meth:`ArchiveWatcher.poll` lists the archive and reads only objects it has not read yet
(archive objects are never overwritten: a replay adds only rows no object holds yet); memory
is one entry per object plus, when asked, the event ids seen.
"""

from __future__ import annotations

import logging
from typing import Any

from reconcile._sources import ARCHIVE_PREFIX, DEAD_LETTER_PREFIX, archive_files, count_objects, list_objects

log = logging.getLogger(__name__)


class ArchiveWatcher:
    def __init__(self, s3: Any, bucket: str, *, keep_ids: bool = True) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._keep_ids = keep_ids
        self._read: set[str] = set()
        self.rows = 0
        self.event_ids: set[str] = set()
        self.dead_letters = 0

    @property
    def objects(self) -> int:
        return len(self._read)

    def poll(self) -> int:
        """Read the objects that appeared since the last poll; returns how many rows they held."""
        new_keys = [key for key, _ in list_objects(self._s3, self._bucket, ARCHIVE_PREFIX) if key not in self._read]
        added = 0
        for key, rows in archive_files(self._s3, self._bucket, new_keys):
            self._read.add(key)
            added += len(rows)
            if self._keep_ids:
                self.event_ids.update(str(row["event_id"]) for row in rows)
        self.rows += added
        self.dead_letters = count_objects(self._s3, self._bucket, DEAD_LETTER_PREFIX)
        return added

    def missing(self, expected_ids: set[str]) -> set[str]:
        """The expected event ids not (yet) in the archive."""
        return expected_ids - self.event_ids
