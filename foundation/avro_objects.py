"""One object of the archive read as an Avro container file of an expected schema, or why not.

The archive's prefixes are ours, but anything with write access can drop an object there: an
empty file, a truncated upload, a CSV, an Avro file of someone else's schema. Readers of the
archive (compaction, the local query, reconcile, the dead-letter tools) read each object with
:func:`read_container` and turn :class:`UnreadableObjectError` into a :class:`BadObject` (key,
size, why) that they report and skip: one bad object never stops a run, and never adds a row.

An object is accepted only when its writer schema is a record of the expected full name and
resolves to the expected (reader) schema by the Avro rules, so a foreign schema with a few
matching field names still adds nothing. The whole object is decoded before any row is handed
on: a file corrupt in its last block gives no rows at all, not its first blocks' rows.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: the 4 bytes every Avro object container file starts with
AVRO_MAGIC = b"Obj\x01"


class UnreadableObjectError(ValueError):
    """An object is not a readable Avro container file of the expected schema; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class BadObject:
    """An object a reader skipped: its key, its size in bytes and why."""

    key: str
    size: int
    reason: str

    def __str__(self) -> str:
        return f"{self.key} ({self.size} bytes): {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "reason": self.reason}


def _full_name(schema: Any) -> str:
    if not isinstance(schema, dict):
        return type(schema).__name__ if not isinstance(schema, str) else schema
    name = str(schema.get("name", "?"))
    namespace = schema.get("namespace")
    return f"{namespace}.{name}" if namespace and "." not in name else name


def read_container(body: bytes, expected: Any) -> list[dict[str, Any]]:
    """Every row of the Avro container file ``body``, read with the parsed schema ``expected``
    (a record schema as ``fastavro.parse_schema`` returns it); UnreadableObjectError otherwise."""
    return list(iter_container(body, expected))


def iter_container(body: bytes, expected: Any) -> Iterator[dict[str, Any]]:
    """The rows of ``body`` one at a time (memory: one block), as :func:`read_container` reads
    them. The header and schema are checked before the first row; a fault in a later block
    raises UnreadableObjectError after the rows before it, so a caller that must not act on
    part of a file reads it through once first (or uses :func:`read_container`)."""
    from fastavro.read import SchemaResolutionError

    reader = _open(body, expected)
    try:
        for row in reader:
            if isinstance(row, dict):
                yield dict(row)
    except SchemaResolutionError:
        raise UnreadableObjectError(_foreign(body, expected)) from None
    except (EOFError, ValueError, TypeError, KeyError, IndexError, OverflowError, OSError, zlib.error) as exc:
        raise UnreadableObjectError(f"truncated or corrupt Avro data: {type(exc).__name__}: {exc}") from exc


def _open(body: bytes, expected: Any) -> Any:
    """A fastavro reader of ``body`` whose rows have the shape of ``expected``."""
    import fastavro
    from fastavro.read import SchemaResolutionError

    if not body:
        raise UnreadableObjectError("empty object")
    if body[: len(AVRO_MAGIC)] != AVRO_MAGIC:
        raise UnreadableObjectError(f"not an Avro container file (starts with {body[:8]!r})")
    try:
        reader = fastavro.reader(io.BytesIO(body))
    except (ValueError, EOFError, OSError) as exc:
        raise UnreadableObjectError(f"unreadable Avro header: {exc}") from exc
    writer_name = _full_name(reader.writer_schema)
    if writer_name != _full_name(expected):
        raise UnreadableObjectError(f"foreign schema {writer_name}, not {_full_name(expected)}")
    if _canonical(reader.writer_schema) != _canonical(expected):
        # another version of our schema: Avro's resolution rules decide (a writer that does not
        # resolve, e.g. lacking a field the reader needs without a default, is foreign)
        try:
            reader = fastavro.reader(io.BytesIO(body), reader_schema=expected)
        except SchemaResolutionError:
            raise UnreadableObjectError(_foreign(body, expected)) from None
    return reader


def _canonical(schema: Any) -> str:
    from fastavro.schema import to_parsing_canonical_form

    return str(to_parsing_canonical_form(schema))


def _foreign(body: bytes, expected: Any) -> str:
    """Why a file whose writer schema does not resolve to ``expected`` is refused."""
    import fastavro

    try:
        name = _full_name(fastavro.reader(io.BytesIO(body)).writer_schema)
    except (ValueError, EOFError, OSError):
        name = "?"
    return f"foreign schema {name}: does not resolve to {_full_name(expected)}"
