"""What a deletion or a restore changed in an inventory, tag by tag, to apply to another copy.

The TUI saves its whole inventory to the cache after a change, but only once it holds a
complete scan. While a scan runs (the first one, or ``R``) it cannot: the cache on disk would
keep the deleted tags, and the command line would list them. So the change itself is applied to
the cache on disk: :func:`tags_of` before, :func:`changes_since` after, :func:`apply_changes`
to the cached inventory.
"""

from __future__ import annotations

from collections.abc import Iterable

from dregtui.core.inventory import Inventory, TagInfo

# repository -> tag -> where it points now (None: the tag is gone)
TagChanges = dict[str, dict[str, TagInfo | None]]


def tags_of(inventory: Inventory, repositories: Iterable[str]) -> dict[str, dict[str, TagInfo]]:
    """A copy of the tags of ``repositories`` (what a change is measured against)."""
    with inventory._lock:
        return {r: dict(inventory.repositories.get(r, {})) for r in set(repositories)}


def changes_since(before: dict[str, dict[str, TagInfo]], inventory: Inventory) -> TagChanges:
    """The tags of ``before``'s repositories that went, came or moved since."""
    now = tags_of(inventory, before)
    out: TagChanges = {}
    for repository, then in before.items():
        tags = now[repository]
        diff: dict[str, TagInfo | None] = {t: None for t in then if t not in tags}
        diff.update({t: info for t, info in tags.items() if then.get(t) != info})
        if diff:
            out[repository] = diff
    return out


def apply_changes(inventory: Inventory, changes: TagChanges) -> None:
    """Make ``inventory`` hold what the changed copy holds for those tags."""
    for repository, tags in changes.items():
        for tag, info in tags.items():
            if info is None:
                inventory.remove_tag(repository, tag)
            else:
                inventory.set_tag(repository, tag, info)
