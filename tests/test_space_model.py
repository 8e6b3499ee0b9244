"""The space accounting against a plain model of garbage-collect's rules (DESIGN.md §5), over
random inventories: shared blobs, a blob twice in one manifest, indexes and their children,
manifests whose body is unknown; the footprints as a scan leaves them (a map of Footprints),
as a cache gives them back (columns of integers), and a cache's with footprints set after it
was read. The registry-backed tests (test_space.py) prove the rules; this proves the
integer bookkeeping keeps them at every shape."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dregtui.core.footprints import Footprint
from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.space import Space
from dregtui.state.cache import InventoryCache

MANIFESTS = [f"sha256:{n:064x}" for n in range(1, 9)]
BLOBS = [f"sha256:{n:064x}" for n in range(100, 108)]
NEW_BLOB = "sha256:" + "f" * 64  # in a footprint set after the cache was read only
SIZE = {d: 10 + 7 * n for n, d in enumerate([*MANIFESTS, *BLOBS, NEW_BLOB])}


@st.composite
def inventories(draw: st.DrawFn) -> tuple[Inventory, dict[str, list[str]]]:
    inv = Inventory("http://r")
    bodies = draw(st.lists(st.booleans(), min_size=8, max_size=8))  # False: body unknown
    for n, digest in enumerate(MANIFESTS):
        kids = draw(st.lists(st.sampled_from(MANIFESTS[n + 1 :]), max_size=2)) if n < 7 else []
        if kids:
            inv.set_children(digest, kids)
        if bodies[n]:
            refs = draw(st.lists(st.sampled_from(BLOBS), max_size=4))  # may repeat a blob
            refs += kids
            inv.set_footprint(digest, Footprint.of(SIZE[digest], ((b, SIZE[b]) for b in refs)))
    for r in range(draw(st.integers(1, 4))):
        tags = draw(st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(MANIFESTS)))
        inv.set_repository(f"team{r % 2}/repo{r}", {t: TagInfo(d) for t, d in tags.items()})
    inv.mark_scanned(0)
    deleted = draw(
        st.lists(st.tuples(st.sampled_from(sorted(inv.repositories)), st.sampled_from(MANIFESTS)))
    )
    return inv, {"deleted": [f"{r}@{d}" for r, d in deleted]}


def closure(inv: Inventory, digests: set[str]) -> set[str]:
    out, todo = set(), list(digests)
    while todo:
        d = todo.pop()
        if d not in out:
            out.add(d)
            todo.extend(inv.children.get(d, ()))
    return out


def refs(inv: Inventory, digest: str) -> list[str]:
    fp = inv.footprints.get(digest)
    return [] if fp is None else [digest, *fp.blobs]  # type: ignore[list-item]


def expected(inv: Inventory, deleted: list[tuple[str, str]]) -> dict[str, object]:
    links = {r: closure(inv, {i.digest for i in t.values()}) for r, t in inv.repositories.items()}
    count: Counter[str] = Counter(b for ds in links.values() for d in ds for b in refs(inv, d))
    holders = {
        b: {r for r, ds in links.items() if any(b in refs(inv, d) for d in ds)} for b in count
    }

    def usage(repos: list[str]) -> tuple[int, int, int, int]:
        linked = set().union(*(links[r] for r in repos))
        blobs = {b for d in linked for b in refs(inv, d)}
        exclusive = sum(SIZE[b] for b in blobs if holders[b] <= set(repos))
        unknown = sum(1 for d in linked if d not in inv.footprints)
        return len(linked), sum(SIZE[b] for b in blobs), exclusive, unknown

    drop: Counter[str] = Counter()
    for pair in dict.fromkeys(deleted):
        if pair[1] in links[pair[0]]:
            drop.update(refs(inv, pair[1]))
    namespaces = {r.split("/")[0] + "/" for r in links}
    return {
        "usage": {r: usage([r]) for r in links},
        "namespaces": {ns: usage([r for r in links if r.startswith(ns)]) for ns in namespaces},
        "total": sum(SIZE[b] for b in count),
        "complete": all(d in inv.footprints for ds in links.values() for d in ds),
        "reclaimable": sum(SIZE[b] for b, n in drop.items() if count[b] <= n),
        "sizes": {
            d: None
            if any(c not in inv.footprints for c in closure(inv, {d}))
            else sum(SIZE[b] for b in {b for c in closure(inv, {d}) for b in refs(inv, c)})
            for d in MANIFESTS
        },
    }


def figures(space: Space, inv: Inventory, deleted: list[tuple[str, str]]) -> dict[str, object]:
    def usage(u):  # type: ignore[no-untyped-def]
        return u.manifests, u.size, u.exclusive, u.unknown

    namespaces = {r.split("/")[0] + "/" for r in inv.repositories}
    return {
        "usage": {r: usage(space.usage(r)) for r in inv.repositories},
        "namespaces": {ns: usage(space.usage_of_namespace(ns)) for ns in namespaces},
        "total": space.total_bytes,
        "complete": space.complete,
        "reclaimable": space.reclaimable_links(deleted),
        "sizes": {d: space.manifest_size(d) for d in MANIFESTS},
    }


def through_cache(inv: Inventory) -> Inventory:
    with tempfile.TemporaryDirectory() as tmp:
        cache = InventoryCache.for_registry(inv.registry, Path(tmp))
        cache.save(inv)
        loaded = cache.load()
    assert loaded is not None
    return loaded


@settings(max_examples=150, deadline=None)
@given(inventories(), st.data())
def test_the_accounting_keeps_garbage_collects_rules_at_every_shape(drawn, data) -> None:  # type: ignore[no-untyped-def]
    inv, extra = drawn
    deleted = [tuple(x.split("@")) for x in extra["deleted"]]
    want = expected(inv, deleted)  # type: ignore[arg-type]
    assert figures(Space(inv), inv, deleted) == want  # type: ignore[arg-type]
    loaded = through_cache(inv)
    assert figures(Space(loaded), loaded, deleted) == want  # type: ignore[arg-type]
    # footprints set after the cache was read (a refresh of one repository) shadow its columns
    later = data.draw(st.lists(st.sampled_from(MANIFESTS), max_size=3))
    for digest in later:
        blobs = data.draw(st.lists(st.sampled_from([*BLOBS, NEW_BLOB]), max_size=3))
        fp = Footprint.of(SIZE[digest], ((b, SIZE[b]) for b in blobs))
        inv.set_footprint(digest, fp)
        loaded.set_footprint(digest, fp)
        inv.children.pop(digest, None)
        loaded.children.pop(digest, None)
    want = expected(inv, deleted)  # type: ignore[arg-type]
    assert figures(Space(loaded), loaded, deleted) == want  # type: ignore[arg-type]
