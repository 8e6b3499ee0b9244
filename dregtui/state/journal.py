"""The deletion journal: what was deleted, byte for byte, so ``dregtui restore`` can put it back.

JSON lines in the user data dir (``<platformdirs user_data_dir>/dregtui/journal.jsonl``, mode
0600). Before each manifest DELETE (or untag), the executor appends one :class:`JournalRecord`
and flushes + fsyncs the file; if the DELETE then fails, a small ``{"void": <id>}`` line cancels
the record. Records of one run share a ``batch`` id. After a restore, a
``{"restored": [<record ids>], "batch": <id>, "time": ...}`` line marks what came back.

Record fields: ``id``, ``batch``, ``time`` (ISO 8601 UTC), ``registry``, ``repository``,
``digest``, ``media_type``, ``manifest`` (raw manifest bytes, base64), ``tags`` (the tags that
pointed at it and went away), ``kind`` (``delete`` or ``untag``). Every field's type is checked
when read; a record that fails is rejected (reported, never half-used).

A record is one whole line or nothing: an append that fails (a full disk) truncates the file back
to where it was and raises ``OSError``; should a torn line remain anyway (a crash, an older
version), the next append starts on a new line, so a torn line never swallows the next record.
Readers never join lines: an unreadable line is skipped and reported in ``Journal.problems``.

API: ``Journal(path=None)``; ``.append(record)``, ``.void(record_id)``,
``.mark_restored(batch_id, record_ids)``, ``.records()``, ``.batches(registry=None)`` (newest
first), ``.find(id)`` (a batch id, a record id, or a unique prefix of either) and
``.last(registry=None)`` (the newest batch not restored yet). A journal that exists but cannot be
read (a directory, a FIFO or device, no permission) raises :class:`JournalUnreadable` with one sentence.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import os
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from dregtui.core.wording import plural
from dregtui.state.userfiles import UserFileError, file_kind, read_user_file

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

JOURNAL_NAME = "journal.jsonl"
KINDS = ("delete", "untag")
_BATCH_IN_LINE = re.compile(r'"batch":\s*"([^"\\]{1,64})"')


def journal_path() -> Path:
    return Path(platformdirs.user_data_dir("dregtui")) / JOURNAL_NAME


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JournalUnreadable(OSError):
    """The journal exists but cannot be read (a directory, no permission): one sentence."""


class RecordError(ValueError):
    """A journal line that is JSON but not a valid record (what is wrong, as a clause)."""


def _kind_of(value: Any) -> str:
    if value is None:
        return "missing"
    name = {str: "a string", list: "a list", dict: "an object", bool: "a boolean"}
    return name.get(type(value), f"a {type(value).__name__}")


def _string(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        what = "empty" if value == "" else _kind_of(value)
        raise RecordError(f"its {name} is {what}, not a string")
    return value


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
    def from_json(cls, doc: Any) -> JournalRecord:
        """The record in ``doc``; RecordError (saying what is wrong) if any field is invalid."""
        if not isinstance(doc, dict):
            raise RecordError(f"it is {_kind_of(doc)}, not an object")
        values = {
            name: _string(doc, name)
            for name in ("id", "batch", "time", "registry", "repository", "digest", "media_type")
        }
        if ":" not in values["digest"]:
            raise RecordError(f"its digest {values['digest']!r} is not algorithm:hex")
        kind = doc.get("kind", "delete")
        if kind not in KINDS:
            raise RecordError(f"its kind is {kind!r}, not one of {', '.join(KINDS)}")
        tags = doc.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            what = _kind_of(tags) if not isinstance(tags, list) else "a list with a non-string"
            raise RecordError(f"its tags is {what}, not a list of strings")
        try:
            manifest = base64.b64decode(_string(doc, "manifest"), validate=True)
        except (binascii.Error, ValueError):
            raise RecordError("its manifest is not base64") from None
        return cls(manifest=manifest, tags=tuple(tags), kind=kind, **values)


@dataclass(frozen=True, slots=True)
class JournalProblem:
    """A line of the journal that was skipped: its number, why, and its batch when legible."""

    line: int
    message: str
    batch: str | None = None

    def concerns(self, batch_id: str) -> bool:
        """Could the lost line have belonged to ``batch_id``? (Unknown batch: it could.)"""
        return self.batch is None or self.batch == batch_id


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one run (one ``remove-*`` command or one TUI confirmation)."""

    id: str
    registry: str
    time: str
    records: tuple[JournalRecord, ...]
    restored: frozenset[str] = frozenset()  # ids of records restored since

    @property
    def tag_count(self) -> int:
        return sum(len(r.tags) for r in self.records)

    @property
    def deleted(self) -> list[JournalRecord]:
        return [r for r in self.records if r.kind != "untag"]

    @property
    def untagged(self) -> list[JournalRecord]:
        return [r for r in self.records if r.kind == "untag"]

    @property
    def pending(self) -> tuple[JournalRecord, ...]:
        """The records not restored yet."""
        return tuple(r for r in self.records if r.id not in self.restored)

    @property
    def is_restored(self) -> bool:
        return not self.pending

    @property
    def repositories(self) -> list[str]:
        return sorted({r.repository for r in self.records})

    @property
    def state(self) -> str:
        """``restored``, ``partly restored`` or ``not restored``."""
        if self.is_restored:
            return "restored"
        return "partly restored" if len(self.pending) < len(self.records) else "not restored"

    def what(self) -> str:
        """``1 manifest, 2 tags`` for a deletion; ``2 tags untagged`` for an untag; both joined."""
        parts = []
        if self.deleted:
            tags = sum(len(r.tags) for r in self.deleted)
            parts.append(f"{plural(len(self.deleted), 'manifest')}, {plural(tags, 'tag')}")
        if self.untagged:
            parts.append(f"{plural(sum(len(r.tags) for r in self.untagged), 'tag')} untagged")
        return "; ".join(parts)

    def summary(self) -> str:
        repos = self.repositories
        where = repos[0] if len(repos) == 1 else f"{len(repos)} repositories"
        state = {"restored": "  (restored)", "partly restored": "  (partly restored)"}
        return (
            f"{self.id}  {self.time[:19].replace('T', ' ')}  {self.registry}  {where}: "
            f"{self.what()}{state.get(self.state, '')}"
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Journal:
    """Append-only journal file, thread-safe within one process (and locked across processes)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else journal_path()
        self._lock = threading.Lock()
        self.problems: list[JournalProblem] = []  # the skipped lines of the last read

    def _write_line(self, doc: dict[str, Any]) -> None:
        """One whole line or nothing: on any failure the file is cut back and OSError raised."""
        data = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
            try:
                if file_kind(os.fstat(fd).st_mode) is not None:  # a FIFO would swallow records
                    raise OSError(errno.EINVAL, "not a regular file")
                os.set_blocking(fd, True)
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # another dregtui process appending
                os.fchmod(fd, 0o600)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a torn last line stays a line of its own
                try:
                    _write_all(fd, data)  # a short write (disk filling up) goes on or raises
                    os.fsync(fd)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, size)
                        os.fsync(fd)
                    raise
            finally:
                os.close(fd)

    def append(self, record: JournalRecord) -> None:
        """Append and fsync: when this returns, the record is on disk; else OSError."""
        self._write_line(record.to_json())

    def void(self, record_id: str) -> None:
        """Cancel a record whose DELETE did not happen."""
        self._write_line({"void": record_id})

    def mark_restored(self, batch_id: str, record_ids: Iterable[str]) -> None:
        """Note that these records of ``batch_id`` were put back (``last`` passes over them)."""
        ids = sorted(set(record_ids))
        if ids:
            self._write_line({"restored": ids, "batch": batch_id, "time": now_iso()})

    def _read(self) -> tuple[list[JournalRecord], set[str]]:
        """(records not voided, ids of restored records); fills ``self.problems``."""
        try:  # no size limit: it holds every deleted manifest, but a device is refused
            data = read_user_file(self.path, "journal", None)
        except UserFileError as exc:
            move = ": move it away" if exc.problem.endswith("not a regular file") else ""
            raise JournalUnreadable(f"The journal {self.path} {exc.problem}{move}.") from None
        if data is None:
            self.problems = []
            return [], set()
        out: list[JournalRecord] = []
        voided: set[str] = set()
        restored: set[str] = set()
        problems: list[JournalProblem] = []
        lines = data.split(b"\n")
        for number, raw in enumerate(lines, 1):
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                doc = json.loads(text)
            except ValueError:
                found = _BATCH_IN_LINE.search(text)
                where = "the last line" if number == len(lines) else f"line {number}"
                problems.append(
                    JournalProblem(
                        number,
                        f"{where} of the journal {self.path} is cut short (a write that did "
                        "not finish, e.g. on a full disk): a record may be missing",
                        found.group(1) if found else None,
                    )
                )
                continue
            try:
                if isinstance(doc, dict) and "void" in doc:
                    voided.add(_string(doc, "void"))
                elif isinstance(doc, dict) and "restored" in doc:
                    ids = doc["restored"]
                    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                        raise RecordError("its restored is not a list of record ids")
                    restored.update(ids)
                else:
                    out.append(JournalRecord.from_json(doc))
            except RecordError as exc:
                batch = doc.get("batch") if isinstance(doc, dict) else None
                problems.append(
                    JournalProblem(
                        number,
                        f"line {number} of the journal {self.path} is not a valid record "
                        f"({exc}): it was rejected",
                        batch if isinstance(batch, str) else None,
                    )
                )
        self.problems = problems
        return [r for r in out if r.id not in voided], restored

    def records(self) -> list[JournalRecord]:
        return self._read()[0]

    def batches(self, registry: str | None = None) -> list[Batch]:
        """Batches, newest first, optionally only those of one registry."""
        records, restored = self._read()
        return _group((r for r in records if registry is None or r.registry == registry), restored)

    def last(self, registry: str | None = None) -> Batch | None:
        """The newest batch with a record not restored yet."""
        return next((b for b in self.batches(registry) if not b.is_restored), None)

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
                    return Batch(batch.id, batch.registry, record.time, (record,), batch.restored)
        return None


def _group(records: Iterable[JournalRecord], restored: set[str] | None = None) -> list[Batch]:
    grouped: dict[str, list[JournalRecord]] = {}
    for record in records:
        grouped.setdefault(record.batch, []).append(record)
    batches = [
        Batch(
            bid,
            recs[0].registry,
            min(r.time for r in recs),
            tuple(recs),
            frozenset(r.id for r in recs if r.id in (restored or ())),
        )
        for bid, recs in grouped.items()
    ]
    return sorted(batches, key=lambda b: b.time, reverse=True)
