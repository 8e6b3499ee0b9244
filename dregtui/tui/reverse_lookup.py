"""The reverse lookup: every tag in the registry that shares a digest, seen from a repository.

It is what the shared-by panel lists: the tags of the same repository (deleted with the
digest), of other repositories (they keep its blobs), of indexes that use it, and its
signatures (a deletion takes them along: the plan deletes a manifest's referrers with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from dregtui.core.inventory import Inventory, TagRef
from dregtui.core.plan_model import signature_tags_for


@dataclass
class ReverseLookup:
    digest: str
    same_repository: list[TagRef]
    other_repositories: list[TagRef]
    parent_indexes: list[str]
    parent_tags: list[TagRef]
    signatures: list[TagRef]


def reverse_lookup(inventory: Inventory, repository: str, digest: str) -> ReverseLookup:
    """Who holds ``digest``, for the shared-by panel of a tag of ``repository``."""
    holders = inventory.holders(digest)
    same = [h for h in holders if h.repository == repository]
    other = [h for h in holders if h.repository != repository]
    parents = inventory.parents(digest)
    parent_refs = [ref for p in parents for ref in inventory.holders(p)]
    signatures = [
        TagRef(repo, tag)
        for repo, tags in list(inventory.repositories.items())
        for tag in signature_tags_for(digest)
        if tag in tags
    ]
    return ReverseLookup(digest, same, other, parents, parent_refs, sorted(signatures, key=str))
