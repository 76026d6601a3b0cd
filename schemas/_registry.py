"""Every published schema version, loaded from the ``avro/`` folder next to this module.

A schema file is never edited once published: old elf apps keep writing it, and the worker must
keep reading it. A new version is a new file ``behaviour_event.vN.avsc``; the highest N is the one
this code writes and the reader schema every older version is resolved to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from ._fingerprint import fingerprint_bytes

_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.avsc$")

BEHAVIOUR_EVENT = "behaviour_event"
ARCHIVED_EVENT = "archived_event"
DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class SchemaVersion:
    """One published version of one schema."""

    name: str
    version: int
    schema: dict[str, Any]
    parsed: Any
    canonical_form: str
    fingerprint: bytes

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


def _load(name: str, version: int, text: str) -> SchemaVersion:
    schema = json.loads(text)
    parsed = fastavro.parse_schema(schema)
    canonical = to_parsing_canonical_form(schema)
    return SchemaVersion(name, version, schema, parsed, canonical, fingerprint_bytes(canonical))


@cache
def all_versions() -> tuple[SchemaVersion, ...]:
    """Every published schema, ordered by name then version."""
    found = []
    for entry in resources.files(__package__).joinpath("avro").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(_load(match["name"], int(match["version"]), entry.read_text("utf-8")))
    return tuple(sorted(found, key=lambda s: (s.name, s.version)))


def versions_of(name: str) -> tuple[SchemaVersion, ...]:
    return tuple(s for s in all_versions() if s.name == name)


def latest(name: str) -> SchemaVersion:
    versions = versions_of(name)
    if not versions:
        raise LookupError(f"no published schema named {name!r}")
    return versions[-1]


@cache
def by_fingerprint() -> dict[bytes, SchemaVersion]:
    """Writer schemas of behaviour events, keyed by their 8-byte fingerprint."""
    return {s.fingerprint: s for s in versions_of(BEHAVIOUR_EVENT)}
