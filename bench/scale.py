"""Issue 11 figures: the command line over a big cached inventory, without a registry.

    python3 bench/scale.py [TAGS ...]      # default 10,000, 100,000 and 1,000,000

Writes a synthetic cache (2,000 repositories, one holding half the tags; every image its own
digest and sizes, as a scan with sizes leaves it) for a registry URL nothing listens on, then
runs `dregtui list-tag-names` (text and `--json`), `du` and a `remove-tags --dry-run` of a
quarter of the tags as subprocesses from that cache, and the TUI headless until the cache and
its sizes are in, and prints the wall time and peak RSS of each, beside their baselines
(`dregtui --version`; a bare Textual app). Also times saving the cache, and reading it in a
process of its own. Asserts nothing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dregtui.core.footprints import Footprint  # noqa: E402
from dregtui.core.inventory import Inventory, TagInfo  # noqa: E402
from dregtui.state.cache import InventoryCache  # noqa: E402

URL = "http://127.0.0.1:9"  # nothing listens: every figure comes from the cache
REPOS = 2_000


def digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def build(tags: int) -> Inventory:
    inv = Inventory(URL)
    big = tags // 2
    per = max(1, (tags - big) // (REPOS - 1))
    base = [digest(-n) for n in range(1, 201)]
    n = 0
    for r in range(REPOS):
        count = big if r == 0 else per
        repo = {}
        for t in range(count):
            d = digest(n)
            repo[f"1.{t // 1000}.{t % 1000}"] = TagInfo(
                d, "application/vnd.oci.image.manifest.v1+json"
            )
            inv.set_footprint(
                d, Footprint.of(900, ((base[n % 200], 30_000_000), (digest(-n - 1000), 4_000)))
            )
            n += 1
        inv.set_repository(f"team{r % 50}/repo{r}", repo)
    inv.mark_scanned()
    return inv


PEAK = (
    "import runpy, sys\n"
    "sys.argv = ['dregtui', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('dregtui', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of this big
    # process would report the parent's peak
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "print(hwm.split()[1], file=sys.stderr)\n"
)


# The TUI as `dregtui` starts it from this cache (header first, the rest in the worker), run
# headless until the inventory and its space accounting are in; then its peak RSS.
PEAK_TUI = (
    "import asyncio, sys\n"
    "from dregtui.state.cache import InventoryCache\n"
    "from dregtui.tui.app import DregApp\n"
    "cache = InventoryCache.for_registry(sys.argv[1])\n"
    "async def main():\n"
    "    app = DregApp(None, cached=cache.peek(), load_cache=cache.load, scan=False)\n"
    "    async with app.run_test(size=(120, 36)) as pilot:\n"
    "        while app.loading_cache or app.session.space is None:\n"
    "            await asyncio.sleep(0.05)\n"
    "        await pilot.press('j')\n"
    "asyncio.run(main())\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "print(hwm.split()[1], file=sys.stderr)\n"
)
BARE_TUI = (
    "import asyncio, sys\n"
    "from textual.app import App\n"
    "import dregtui.tui.app\n"
    "async def main():\n"
    "    async with App().run_test(size=(120, 36)) as pilot:\n"
    "        await pilot.press('j')\n"
    "asyncio.run(main())\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "print(hwm.split()[1], file=sys.stderr)\n"
)


# Reading the cache as dregtui does, in a process of its own: its wall time, to stderr last.
LOAD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from dregtui.state.cache import InventoryCache\n"
    "start = time.perf_counter()\n"
    f"assert InventoryCache(Path(sys.argv[1]), {URL!r}).read() is not None\n"
    "print(time.perf_counter() - start, file=sys.stderr)\n"
)
BIG = "team0/repo0"  # the repository that holds half of the tags


def child(argv: list[str], env: dict[str, str], script: str = PEAK) -> tuple[float, float]:
    """Wall seconds of one run and the figure it reports last on stderr: its peak RSS (MiB)
    as the process itself reads it, or (LOAD) the seconds the read took."""
    start = time.perf_counter()
    with open(os.devnull, "w") as null:
        done = subprocess.run(
            [sys.executable, "-c", script, *argv],
            stdout=null,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            check=False,
        )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr[-300:]}")
    figure = float(done.stderr.strip().splitlines()[-1])
    return elapsed, figure if script is LOAD else figure / 1024


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=tmp, PYTHONPATH=str(HERE.parent))
        base_s, base_rss = child(["--version"], env)
        print(f"baseline: dregtui --version {base_s:.2f} s, {base_rss:.0f} MiB")
        _, tui_base = child([], env, BARE_TUI)
        print(f"baseline: a bare Textual app (dregtui's TUI imported) {tui_base:.0f} MiB")
        for tags in sizes:
            inv = build(tags)
            cache = InventoryCache.for_registry(URL, Path(tmp) / "dregtui")
            start = time.perf_counter()
            cache.save(inv)
            saved = time.perf_counter() - start
            del inv
            size = cache.path.stat().st_size / 2**20
            _, load = child([str(cache.path)], env, LOAD)  # in a fresh process, as dregtui does
            print(f"{tags:9,d} tags: cache {size:.0f} MiB, save {saved:.2f} s, load {load:.2f} s")
            big = f"-t <1.{tags // 4000}"  # a quarter of the tags of the biggest repository
            for label, argv in (
                ("list-tag-names", ["list-tag-names"]),
                ("list-tag-names --json", ["--json", "list-tag-names"]),
                ("du", ["du"]),
                ("remove-tags --dry-run", ["--dry-run", "remove-tags", "-r", BIG, *big.split()]),
            ):
                s, rss = child(["-reg", URL, "-l", "error", *argv], env)
                per_tag = (rss - base_rss) * 2**20 / tags
                print(
                    f"{'':9} {label:22}: {s:6.2f} s, peak {rss:.0f} MiB "
                    f"({per_tag:.0f} B a tag above the baseline)"
                )
            s, rss = child([URL], env, PEAK_TUI)
            per_tag = (rss - tui_base) * 2**20 / tags
            print(
                f"{'':9} TUI, cache loaded and sizes in: {s:.2f} s, peak {rss:.0f} MiB "
                f"({per_tag:.0f} B a tag above the bare Textual app)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
