"""The deletion journal: what was deleted, byte for byte, so ``dregtui restore`` can put it back.

JSON lines in the user data dir (``<platformdirs user_data_dir>/dregtui/journal.jsonl``, mode
0600). Before each manifest DELETE (or untag), the executor appends one :class:`JournalRecord`
and flushes + fsyncs the file; if the DELETE then fails, a small ``{"void": <id>}`` line cancels
the record. Records of one run share a ``batch`` id.

Record fields: ``id``, ``batch``, ``time`` (ISO 8601 UTC), ``registry``, ``repository``,
``digest``, ``media_type``, ``manifest`` (raw manifest bytes, base64), ``tags`` (the tags that
pointed at it and went away), ``kind`` (``delete`` or ``untag``).

API: ``Journal(path=None)``; ``.append(record)``, ``.void(record_id)``, ``.records()``,
``.batches(registry=None)`` (newest first), ``.find(id)`` (a batch id, a record id, or a unique
prefix of either) and ``.last(registry=None)``. Unreadable lines are skipped, never fatal.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

JOURNAL_NAME = "journal.jsonl"


def journal_path() -> Path:
    return Path(platformdirs.user_data_dir("dregtui")) / JOURNAL_NAME


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class JournalRecord:
    batch: str
    registry: str
    repository: str
    digest: str
    media_type: str
    manifest: bytes
    tags: tuple[str, ...]
    kind: str = "delete"
    id: str = field(default_factory=new_id)
    time: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "batch": self.batch,
            "time": self.time,
            "kind": self.kind,
            "registry": self.registry,
            "repository": self.repository,
            "digest": self.digest,
            "media_type": self.media_type,
            "manifest": base64.b64encode(self.manifest).decode("ascii"),
            "tags": list(self.tags),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> JournalRecord:
        return cls(
            id=str(doc["id"]),
            batch=str(doc["batch"]),
            time=str(doc["time"]),
            kind=str(doc.get("kind", "delete")),
            registry=str(doc["registry"]),
            repository=str(doc["repository"]),
            digest=str(doc["digest"]),
            media_type=str(doc["media_type"]),
            manifest=base64.b64decode(doc["manifest"], validate=True),
            tags=tuple(str(t) for t in doc.get("tags") or ()),
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one run (one ``remove-*`` command or one TUI confirmation)."""

    id: str
    registry: str
    time: str
    records: tuple[JournalRecord, ...]

    @property
    def tag_count(self) -> int:
        return sum(len(r.tags) for r in self.records)

    @property
    def repositories(self) -> list[str]:
        return sorted({r.repository for r in self.records})

    def summary(self) -> str:
        repos = self.repositories
        where = repos[0] if len(repos) == 1 else f"{len(repos)} repositories"
        return (
            f"{self.id}  {self.time[:19].replace('T', ' ')}  {self.registry}  {where}: "
            f"{len(self.records)} manifest{'' if len(self.records) == 1 else 's'}, "
            f"{self.tag_count} tag{'' if self.tag_count == 1 else 's'}"
        )


class Journal:
    """Append-only journal file, thread-safe within one process."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else journal_path()
        self._lock = threading.Lock()

    def _write_line(self, doc: dict[str, Any]) -> None:
        line = json.dumps(doc, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)
                data = memoryview(line.encode())
                while data:  # a short write (disk filling up) must not leave half a record
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)

    def append(self, record: JournalRecord) -> None:
        """Append and fsync: when this returns, the record is on disk."""
        self._write_line(record.to_json())

    def void(self, record_id: str) -> None:
        """Cancel a record whose DELETE did not happen."""
        self._write_line({"void": record_id})

    def records(self) -> list[JournalRecord]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out: list[JournalRecord] = []
        voided: set[str] = set()
        for line in text.splitlines():
            try:
                doc = json.loads(line)
                if "void" in doc:
                    voided.add(str(doc["void"]))
                else:
                    out.append(JournalRecord.from_json(doc))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return [r for r in out if r.id not in voided]

    def batches(self, registry: str | None = None) -> list[Batch]:
        """Batches, newest first, optionally only those of one registry."""
        return _group(r for r in self.records() if registry is None or r.registry == registry)

    def last(self, registry: str | None = None) -> Batch | None:
        batches = self.batches(registry)
        return batches[0] if batches else None

    def find(self, ident: str, registry: str | None = None) -> Batch | None:
        """A batch by id or unique prefix; else a single record by id (as a one-record batch)."""
        batches = self.batches(registry)
        exact = [b for b in batches if b.id == ident]
        if exact:
            return exact[0]
        prefix = [b for b in batches if b.id.startswith(ident)]
        if len(prefix) == 1:
            return prefix[0]
        for batch in batches:
            for record in batch.records:
                if record.id == ident or (len(ident) >= 6 and record.id.startswith(ident)):
                    return Batch(batch.id, batch.registry, record.time, (record,))
        return None


def _group(records: Iterable[JournalRecord]) -> list[Batch]:
    grouped: dict[str, list[JournalRecord]] = {}
    for record in records:
        grouped.setdefault(record.batch, []).append(record)
    batches = [
        Batch(bid, recs[0].registry, min(r.time for r in recs), tuple(recs))
        for bid, recs in grouped.items()
    ]
    return sorted(batches, key=lambda b: b.time, reverse=True)
