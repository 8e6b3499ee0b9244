"""Issue 9 figures: memory of sizes in the inventory and the speed of the space accounting.

    python3 bench/space.py [TAGS]      # default 100,000 tags

Builds a synthetic inventory shaped like a CI registry (1,000 repositories; each image has a
config and 6 layers, 4 of them shared base layers from a pool of 200; 1 in 4 tags shares a digest
with another tag), measures the memory the footprints add per tag (tracemalloc), then times
``Space(inventory)`` and ``reclaimable`` for a plan that deletes half of the tags of every
repository. Prints figures; asserts nothing.
"""

from __future__ import annotations

import hashlib
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dregtui.core.footprints import Footprint  # noqa: E402
from dregtui.core.inventory import Inventory, TagInfo  # noqa: E402
from dregtui.core.plan import build_plan  # noqa: E402
from dregtui.core.space import Space  # noqa: E402

REPOS = 1_000


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def build(tags: int, sizes: bool) -> Inventory:
    inv = Inventory("http://bench")
    per_repo = tags // REPOS
    base = [digest(f"base/{i}") for i in range(200)]
    for r in range(REPOS):
        repo = f"team{r % 20}/app-{r:04d}"
        entries = {}
        for t in range(per_repo):
            image = t - (t % 4 == 3)  # every 4th tag shares the previous tag's digest
            d = digest(f"{repo}/{image}")
            entries[f"1.{t // 100}.{t % 100}"] = TagInfo(
                d, "application/vnd.oci.image.manifest.v1+json"
            )
            if sizes and d not in inv.footprints:
                refs = [(digest(f"{repo}/{image}/config"), 1_500)]
                refs += [(sys.intern(base[(r + k) % 200]), 30_000_000) for k in range(4)]
                refs += [(digest(f"{repo}/{image}/layer/{k}"), 2_000_000) for k in range(2)]
                inv.footprints[d] = Footprint.of(1_200, ((sys.intern(b), s) for b, s in refs))
        inv.set_repository(repo, entries)
    return inv


def main() -> None:
    tags = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    tracemalloc.start()
    plain = build(tags, sizes=False)
    bare = tracemalloc.get_traced_memory()[0]
    del plain
    tracemalloc.reset_peak()
    start_mem = tracemalloc.get_traced_memory()[0]
    inv = build(tags, sizes=True)
    with_sizes = tracemalloc.get_traced_memory()[0] - start_mem
    tracemalloc.stop()
    n = inv.tag_count
    print(f"{n} tags, {len(inv.footprints)} manifests with footprints")
    print(f"inventory without sizes: {bare / n:7.0f} B/tag")
    print(
        f"inventory with sizes   : {with_sizes / n:7.0f} B/tag  (target: under 1 KB/tag in total)"
    )
    tracemalloc.start()
    probe = Space(inv)
    accounting = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del probe
    print(f"Space (accounting)     : {accounting / n:7.0f} B/tag more while it is alive")
    t0 = time.perf_counter()
    space = Space(inv)
    t1 = time.perf_counter()
    selected = {repo: list(tags)[: len(tags) // 2] for repo, tags in inv.repositories.items()}
    plan = build_plan(inv, selected)
    t2 = time.perf_counter()
    freed = space.reclaimable(plan)
    t3 = time.perf_counter()
    one = build_plan(inv, {next(iter(inv.repositories)): ["1.0.0"]})
    t4 = time.perf_counter()
    space.reclaimable(one)
    t5 = time.perf_counter()
    print(f"Space(inventory)       : {t1 - t0:7.3f} s")
    print(f"plan of {len(plan.items)} items  : {t2 - t1:7.3f} s (build_plan)")
    print(f"reclaimable(plan)      : {t3 - t2:7.3f} s = {freed / 2**30:.1f} GiB")
    print(f"reclaimable(one item)  : {(t5 - t4) * 1000:7.3f} ms (a mark toggled in the TUI)")
    total = space.total_bytes
    print(f"registry total         : {total / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
