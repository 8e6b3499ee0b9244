"""The referrers API (OCI 1.1, ``GET /v2/<name>/referrers/<digest>``), where a registry serves it.

A registry that serves it lists referrers pushed by digest with no fallback tag, which no tag
listing shows. :func:`ask_referrers` asks for every tagged manifest of the given repositories
(and, recursively, for the referrers it finds); the first "not served" answer (distribution
2.8: 404) ends it after one request. An answer that is not an index of referrers is one warning
and no edge. :func:`stored_referrers` finds the same in a registry's storage (its untagged
revisions with a ``subject``). :func:`dregtui.core.referrers.build_graph` takes them as ``api``
and ``stored``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from dregtui.core.errors import ProtocolError
from dregtui.core.inventory import Inventory
from dregtui.core.oci import mediatypes
from dregtui.core.oci.models import Descriptor, Manifest
from dregtui.core.referrers import artifact_of, is_plumbing_tag
from dregtui.core.stored import StorageView
from dregtui.core.textsafe import clean

Listed = dict[tuple[str, str], list[Descriptor]]


class ReferrersClient(Protocol):
    def list_referrers(self, repository: str, digest: str) -> list[Descriptor] | None: ...


def ask_referrers(
    client: ReferrersClient,
    inventory: Inventory,
    repositories: Iterable[str],
    warn: Callable[[str], None],
) -> Listed:
    """(repository, subject digest) -> the referrers the registry lists; {} when it does not
    serve the API."""
    found: Listed = {}
    for repo in sorted(set(repositories) & inventory.scanned):
        tags = inventory.repositories.get(repo, {})
        queue = sorted({info.digest for tag, info in tags.items() if not is_plumbing_tag(tag)})
        seen = set(queue)
        while queue:
            digest = queue.pop(0)
            try:
                listed = client.list_referrers(repo, digest)
            except ProtocolError as exc:
                warn(
                    f"{clean(repo)}@{digest}: the referrers API did not answer with an index of "
                    f"referrers ({clean(str(exc))}): none taken from it."
                )
                continue
            if listed is None:
                return found  # not served (distribution 2.8): fallback and cosign tags only
            if listed:
                found[(repo, digest)] = listed
            for descriptor in listed:
                if descriptor.digest not in seen:
                    seen.add(descriptor.digest)
                    queue.append(descriptor.digest)
    return found


def stored_referrers(view: StorageView) -> Listed:
    """(repository, subject) -> its untagged referrers as the storage holds them: revisions no
    tag points at whose body names a ``subject`` (pushed by digest, listed by no tag)."""
    found: Listed = {}
    for name, repository in sorted(view.repositories.items()):
        for digest in sorted(repository.untagged):
            body = view.manifests.get(digest, b"")
            try:
                info = artifact_of(Manifest.parse(body, digest))
            except ProtocolError:
                continue  # the storage view said so when it read it
            if info is None or not info.subject:
                continue
            size = len(body)
            descriptor = Descriptor(
                mediatypes.OCI_MANIFEST, digest, size, artifact_type=info.artifact_type
            )
            found.setdefault((name, info.subject), []).append(descriptor)
    return found
