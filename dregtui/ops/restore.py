"""Undo a deletion batch from the journal: re-upload the manifests, then their tags.

``restore_batch(client, batch, inventory=None)`` -> RestoreResult. Per journal record:

1. The content must still be there: for an image, its config and layer blobs; for an index, its
   child manifests (or children restored earlier in this batch). When the registry's garbage
   collector has run since, the blobs are gone and the record fails with a sentence saying so.
2. The manifest is PUT by digest (the exact journaled bytes, so the digest is the same), then
   under each tag that pointed at it. A tag that meanwhile points at *another* digest is left
   alone (reported), never overwritten, unless it points at a dregtui untag placeholder.
   The journaled bytes must hash to the record's digest, else nothing is pushed.

Only records not restored yet (``batch.pending``) are restored.

Subjects are restored before their referrers, and image manifests before indexes (children
before the index): :func:`restore_order`. ``inventory``, when
given, is updated with the tags that resolve again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dregtui.core.errors import ProtocolError, RegistryError
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.oci.mediatypes import PLACEHOLDER_ANNOTATION
from dregtui.core.oci.models import Manifest
from dregtui.core.registry_api import RegistryAPI
from dregtui.ops.steps import RESTORING, OnStep, Step
from dregtui.state.journal import Batch, Journal, JournalRecord


class RestoreStatus(StrEnum):
    RESTORED = "restored"
    PARTIAL = "partial"  # manifest back, some tags left alone
    FAILED = "failed"


@dataclass(slots=True)
class RestoreItem:
    record: JournalRecord
    status: RestoreStatus
    message: str = ""
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.record.id,
            "repository": self.record.repository,
            "digest": self.record.digest,
            "status": self.status.value,
            "message": self.message,
            "tags": self.tags,
        }


@dataclass(slots=True)
class RestoreResult:
    batch: str
    items: list[RestoreItem] = field(default_factory=list)
    # Why the journal could not note the restore (then ``restore --last`` offers it again).
    unmarked: str | None = None

    @property
    def failed(self) -> list[RestoreItem]:
        return [i for i in self.items if i.status is RestoreStatus.FAILED]

    @property
    def exit_code(self) -> int:
        return (
            1
            if self.failed
            else (3 if any(i.status is RestoreStatus.PARTIAL for i in self.items) else 0)
        )

    def to_json(self) -> dict[str, Any]:
        return {"batch": self.batch, "items": [i.to_json() for i in self.items]}


def _missing_content(
    client: RegistryAPI, record: JournalRecord, manifest: Manifest, restored: set[tuple[str, str]]
) -> str | None:
    repo = record.repository
    if manifest.is_index:
        for child in manifest.manifests:
            if (repo, child.digest) in restored:
                continue
            if client.head_manifest(repo, child.digest) is None:
                return (
                    f"its child manifest {child.digest} is gone from {repo} "
                    "(the registry's garbage collector ran since the deletion?)"
                )
        return None
    blobs = ([manifest.config] if manifest.config else []) + list(manifest.layers)
    gone = [b.digest for b in blobs if not client.blob_exists(repo, b.digest)]
    if gone:
        return (
            f"{len(gone)} of its {len(blobs)} blobs are gone from {repo} (the registry's "
            "garbage collector ran since the deletion): it cannot be restored"
        )
    return None


def _hash_problem(record: JournalRecord) -> str | None:
    """Why the journaled bytes are not the manifest ``record.digest`` names, or None."""
    algorithm, _, expected = record.digest.partition(":")
    if algorithm not in ("sha256", "sha384", "sha512"):
        return f"its digest algorithm {algorithm!r} is not supported: not restoring it"
    actual = hashlib.new(algorithm, record.manifest).hexdigest()
    if actual != expected.lower():
        return (
            f"the journaled manifest hashes to {algorithm}:{actual}, not to the recorded "
            "digest: not restoring it"
        )
    return None


def _is_placeholder(client: RegistryAPI, repository: str, digest: str) -> bool:
    """Is ``digest`` a dregtui untag placeholder (so putting the tag back is the restore)?"""
    try:
        manifest = client.get_manifest(repository, digest)
    except (RegistryError, ProtocolError):
        return False
    return PLACEHOLDER_ANNOTATION in manifest.annotations and not manifest.layers


def restore_record(
    client: RegistryAPI,
    record: JournalRecord,
    inventory: Inventory | None = None,
    restored: set[tuple[str, str]] | None = None,
) -> RestoreItem:
    restored = restored if restored is not None else set()
    where = f"{record.repository}@{record.digest}"
    problem = _hash_problem(record)
    if problem:
        return RestoreItem(record, RestoreStatus.FAILED, f"{where}: {problem}")
    try:
        manifest = Manifest.parse(record.manifest, record.digest, record.media_type)
        problem = _missing_content(client, record, manifest, restored)
        if problem:
            return RestoreItem(record, RestoreStatus.FAILED, f"{where}: {problem}")
        digest = client.put_manifest(
            record.repository, record.digest, record.manifest, record.media_type
        )
        if digest != record.digest:
            return RestoreItem(
                record, RestoreStatus.FAILED, f"{where}: the registry stored it as {digest}"
            )
        restored.add((record.repository, record.digest))
        done: list[str] = []
        skipped: list[str] = []
        for tag in record.tags:
            ref = client.head_manifest(record.repository, tag)
            if (
                ref is not None
                and ref.digest != record.digest
                and not _is_placeholder(client, record.repository, ref.digest)
            ):
                skipped.append(f"{tag} (now {ref.digest})")
                continue
            client.put_manifest(record.repository, tag, record.manifest, record.media_type)
            done.append(tag)
            if inventory is not None:
                inventory.set_tag(record.repository, tag, TagInfo(record.digest, record.media_type))
    except (RegistryError, ProtocolError) as exc:
        return RestoreItem(record, RestoreStatus.FAILED, f"{where}: {exc}")
    if skipped:
        return RestoreItem(
            record,
            RestoreStatus.PARTIAL,
            f"{where} restored; left alone because they point elsewhere now: {', '.join(skipped)}",
            done,
        )
    return RestoreItem(record, RestoreStatus.RESTORED, f"{where} restored", done)


def restore_batch(
    client: RegistryAPI,
    batch: Batch,
    inventory: Inventory | None = None,
    journal: Journal | None = None,
    on_step: OnStep | None = None,
) -> RestoreResult:
    """Restore every record of ``batch`` (:func:`restore_order`). With ``journal``, the
    records put back are noted there, so ``--last`` and a second restore pass over them.
    ``on_step`` hears of each record put back (:mod:`dregtui.ops.steps`)."""
    result = RestoreResult(batch.id)
    restored: set[tuple[str, str]] = set()
    ordered = restore_order(batch.pending)
    total = len(ordered)
    if on_step is not None:
        on_step(Step(RESTORING, 0, total))
    with client.checking():
        for count, record in enumerate(ordered, 1):
            result.items.append(restore_record(client, record, inventory, restored))
            if on_step is not None:
                on_step(Step(RESTORING, count, total, record.repository, record.digest))
    if journal is not None:
        done = [i.record.id for i in result.items if i.status is not RestoreStatus.FAILED]
        try:
            journal.mark_restored(batch.id, done)
        except OSError as exc:
            result.unmarked = (
                f"could not mark batch {batch.id} as restored in {journal.path} "
                f"({exc.strerror or exc})."
            )
    return result


def restore_order(records: Iterable[JournalRecord]) -> list[JournalRecord]:
    """Subjects before their referrers (a signature of an SBOM after the SBOM), and at each
    level images before indexes; an index waits for the children of the batch it lists (a
    fallback tag's index comes after the referrers it names)."""
    records = list(records)
    by_key = {(r.repository, r.digest): r for r in records}
    subject: dict[tuple[str, str], str] = {}
    listed: dict[tuple[str, str], tuple[str, ...]] = {}
    for record in records:
        try:
            manifest = Manifest.parse(record.manifest, record.digest, record.media_type)
        except ProtocolError:
            continue
        key = (record.repository, record.digest)
        if manifest.subject is not None:
            subject[key] = manifest.subject.digest
        listed[key] = tuple(d.digest for d in manifest.manifests)
    levels: dict[tuple[str, str], int] = {}

    def level(key: tuple[str, str], seen: frozenset[tuple[str, str]]) -> int:
        if key in levels or key in seen:
            return levels.get(key, 0)
        seen = seen | {key}
        repo = key[0]
        above = (repo, subject.get(key, ""))
        found = level(above, seen) + 1 if above in by_key else 0
        for child in listed.get(key, ()):
            if (repo, child) in by_key:
                found = max(found, level((repo, child), seen))
        levels[key] = found
        return found

    return sorted(
        records,
        key=lambda r: (
            level((r.repository, r.digest), frozenset()),
            mediatypes.is_index(r.media_type),
        ),
    )
