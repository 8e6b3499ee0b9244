"""A registry's storage read whole: what distribution's layout says, and no API call can list.

The layout (distribution 2.x, filesystem and S3 alike; keys below the storage root)::

    docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data          every blob once (its size)
    docker/registry/v2/repositories/<name>/_manifests/revisions/sha256/<hex>/link
                                                                every manifest of <name>
    docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link
    docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/sha256/<hex>/link
                                                                every digest <tag> pointed at

A revision counts while its ``link`` file exists (a DELETE through the API removes the file and
leaves the folder). A tag's current digest is the one its ``index`` names when it names one
only (no read needed); otherwise its ``current/link`` is read (71 bytes). Each manifest body is
read once per digest, from the blob store. Nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from dregtui.core.errors import StorageError
from dregtui.core.stored import StorageView, StoredRepository
from dregtui.storage.backends import V2, Shape, Storage, StoredFile

MAX_LINK = 1024  # bytes of a link file at most (a digest is 71)
MAX_MANIFEST = 4 * 1024 * 1024  # bytes, as distribution refuses larger manifests
LISTERS = 8  # repository listings at once
_HEX = re.compile(r"[0-9a-f]{64}")
_LINK = re.compile(r"sha256:[0-9a-f]{64}")


def read_storage(
    storage: Storage,
    repositories: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> StorageView:
    """The storage's repositories (all, or those named), their revisions, tags and tag
    histories, every blob's size and the body of every linked manifest."""
    view = StorageView(storage.description)
    names = _repository_names(storage) if repositories is None else sorted(set(repositories))
    with ThreadPoolExecutor(LISTERS, thread_name_prefix="dregtui-list") as pool:
        listed = pool.map(lambda n: _repository(storage, n), names)
        blob_files = pool.map(
            lambda top: list(storage.files(f"{V2}/blobs/sha256/{top}/")), _blob_folders(storage)
        )
        for repository in listed:
            view.repositories[repository.name] = repository
            if progress is not None:
                progress(repository.name)
        for files in blob_files:
            for stored in files:
                parts = stored.key.split("/")
                if len(parts) == 8 and parts[7] == "data" and _HEX.fullmatch(parts[6]):
                    view.blobs["sha256:" + parts[6]] = stored.size
    _resolve_tags(storage, view)
    wanted = sorted({d for r in view.repositories.values() for d in r.revisions})
    bodies = storage.read([_blob_key(d) for d in wanted], MAX_MANIFEST)
    for digest, body in zip(wanted, bodies, strict=True):
        if body is None:
            view.warnings.append(f"{digest} is linked but its blob is missing from the storage.")
            continue
        view.manifests[digest] = body
    return view


def _blob_key(digest: str) -> str:
    hex_ = digest.partition(":")[2]
    return f"{V2}/blobs/sha256/{hex_[:2]}/{hex_}/data"


def _blob_folders(storage: Storage) -> list[str]:
    return [f for f in storage.folders(f"{V2}/blobs/sha256/") if len(f) == 2]


def _repository_names(storage: Storage) -> list[str]:
    """Every repository: a folder below ``repositories/`` that holds ``_manifests``
    (names nest: ``team/tools/lint``)."""
    names: list[str] = []
    pending = [""]
    while pending:
        path = pending.pop()
        for folder in storage.folders(f"{V2}/repositories/{path}"):
            if folder.startswith("_"):
                if folder == "_manifests" and path:
                    names.append(path.rstrip("/"))
                continue
            pending.append(f"{path}{folder}/")
    return sorted(names)


# the files of a repository that the layout names (FileStorage.layout_files): a revision's or
# layer's link, each tag's current link and its index's links; "*" is every folder there
_LINKED: Shape = {"*": {"link": None}}
_MANIFESTS: Shape = {
    "revisions": {"sha256": _LINKED},
    "tags": {"*": {"current": {"link": None}, "index": {"sha256": _LINKED}}},
}


def _files(storage: Storage, prefix: str, shape: Shape) -> Iterable[StoredFile]:
    """The files below ``prefix`` the layout reads: on a filesystem only those along
    ``shape`` (opening a folder costs more than looking up a file: one folder per link file),
    on S3 all of them (one listing)."""
    layout_files = getattr(storage, "layout_files", None)
    if layout_files is not None:
        return cast("Iterable[StoredFile]", layout_files(prefix, shape))
    return storage.files(prefix)


def _repository(storage: Storage, name: str) -> StoredRepository:
    repository = StoredRepository(name)
    base = f"{V2}/repositories/{name}/"
    for stored in _files(storage, base + "_manifests/", _MANIFESTS):
        _place(repository, stored, stored.key[len(base) + len("_manifests/") :])
    for stored in _files(storage, base + "_layers/sha256/", _LINKED):
        parts = stored.key[len(base) :].split("/")
        if len(parts) == 4 and parts[3] == "link" and _HEX.fullmatch(parts[2]):
            repository.layers.add("sha256:" + parts[2])
    return repository


def _place(repository: StoredRepository, stored: StoredFile, rest: str) -> None:
    """File ``rest`` (below ``_manifests/``) into the repository."""
    parts = rest.split("/")
    if parts[0] == "revisions":
        if len(parts) == 4 and parts[1:4:2] == ["sha256", "link"] and _HEX.fullmatch(parts[2]):
            repository.revisions["sha256:" + parts[2]] = stored.modified
        return
    if parts[0] != "tags" or len(parts) < 3:
        return
    tag = parts[1]
    if parts[2:] == ["current", "link"]:
        repository.tags.setdefault(tag, "")  # read below unless its index decides
    elif (
        len(parts) == 6
        and parts[2:4] == ["index", "sha256"]
        and parts[5] == "link"
        and _HEX.fullmatch(parts[4])
    ):
        repository.history.setdefault(tag, []).append(("sha256:" + parts[4], stored.modified))


def _resolve_tags(storage: Storage, view: StorageView) -> None:
    """Each tag's current digest: its index's one entry, else its ``current/link`` read."""
    unread: list[tuple[StoredRepository, str]] = []
    for repository in view.repositories.values():
        for tag in list(repository.tags):
            history = repository.history.get(tag, [])
            if len(history) == 1:
                repository.tags[tag] = history[0][0]
            else:
                unread.append((repository, tag))
    keys = [f"{V2}/repositories/{r.name}/_manifests/tags/{t}/current/link" for r, t in unread]
    for (repository, tag), raw in zip(unread, storage.read(keys, MAX_LINK), strict=True):
        digest = raw.decode("ascii", "replace").strip() if raw is not None else ""
        if not _LINK.fullmatch(digest):
            view.warnings.append(f"{repository.name}:{tag} has an unreadable current link.")
            del repository.tags[tag]
            continue
        repository.tags[tag] = digest
    for repository in view.repositories.values():
        _order_histories(repository)
        for tag, digest in list(repository.tags.items()):
            if digest not in repository.revisions:
                # distribution answers 404 for such a tag: the API does not list its manifest
                view.warnings.append(
                    f"{repository.name}:{tag} points at {digest}, which is not linked in "
                    "the repository (the registry cannot serve it)."
                )
                del repository.tags[tag]


def _order_histories(repository: StoredRepository) -> None:
    """Each tag's history oldest first; among entries written in the same second (S3's
    LastModified has whole seconds: a tag pushed twice within one second), the digest the tag
    points at now last, as it is the newest."""
    for tag, history in repository.history.items():
        current = repository.tags.get(tag)
        history.sort(key=lambda entry: (entry[1], entry[0] == current))


def check_pairing(view: StorageView, api_tags: dict[str, dict[str, str]]) -> None:
    """StorageError unless the registry's API and the storage agree on a sample of tags and
    digests: a storage paired with the wrong registry must be caught before any DELETE.
    ``api_tags``: repository -> tag -> digest as the API answers, for a few repositories."""
    compared = 0
    for name, tags in api_tags.items():
        stored = view.repositories.get(name)
        if stored is None:
            if tags:
                raise StorageError(
                    f"The storage {view.description} has no repository {name}, which the "
                    "registry serves: it is not this registry's storage."
                )
            continue
        for tag, digest in tags.items():
            compared += 1
            if stored.tags.get(tag) != digest:
                raise StorageError(
                    f"The storage {view.description} says {name}:{tag} is "
                    f"{stored.tags.get(tag) or 'absent'}, the registry says {digest}: it is "
                    "not this registry's storage (or the registry is being written to)."
                )
    if not compared and any(r.tags for r in view.repositories.values()):
        raise StorageError(
            f"None of the registry's tags are in the storage {view.description}: it is not "
            "this registry's storage."
        )
