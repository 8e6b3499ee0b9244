"""Benchmark: the inventory read from a registry's storage against a cold scan through its API.

The same filesystem registry as ``bench/scan.py --scale N`` (N tags, N/100 repositories x 100,
written straight into the storage layout once and kept in bench/.data-N; its
``populate_storage``), served by a real registry from that storage. In the same minutes, each
in a fresh interpreter of its own (as the command line runs one or the other, so neither
carries the other's objects):
  - one untimed read of the storage first (the page cache then holds the files both read: the
    links and the manifests' blobs, which the registry reads to answer the scan);
  - ``read_storage`` + ``inventory_from_view`` on the storage directory;
  - dregtui's Scanner over the whole registry, as bench/scan.py's ``time_dregtui`` runs it;
  - ``read_storage`` + ``inventory_from_view`` again: the storage's figure is the mean of the
    runs before and after the scan (here the one after ran 1.2-2x slower, unexplained).
Prints both times, the ratio, and checks that both give the same repositories and
tags -> digests (a SHA-256 of the sorted lines). Target: the storage at least 5x faster.
Usage: python bench/storage.py [N]   (default 100000)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from scan import populate_storage  # noqa: E402

from dregtui.core.inventory import Inventory  # noqa: E402
from dregtui.demo.server import LocalRegistry  # noqa: E402
from dregtui.registry.client import RegistryClient  # noqa: E402

TAGS_PER_REPO = 100
TARGET = 5.0


def data_for(tags: int) -> Path:
    """bench/.data-N, written once (the same directory bench/scan.py --scale N uses)."""
    repos = max(1, tags // TAGS_PER_REPO)
    data = HERE / f".data-{tags}"
    if not (data / "populated").exists():
        print(f"writing {repos} x {TAGS_PER_REPO} into the storage (once; kept in {data}) ...")
        started = time.perf_counter()
        shutil.rmtree(data, ignore_errors=True)
        populate_storage(data, repos, TAGS_PER_REPO)
        (data / "populated").write_text("ok\n")
        print(f"written in {time.perf_counter() - started:.0f} s", flush=True)
    return data


def time_api(url: str) -> tuple[Inventory, float]:
    """A cold scan through the API (the scanner's default window, with sizes)."""
    from dregtui.ops.scanner import DEFAULT_CAP, Scanner

    started = time.perf_counter()
    with RegistryClient(url, pool_size=DEFAULT_CAP) as client:
        inventory = Scanner(client).scan()
    return inventory, time.perf_counter() - started


def time_storage(root: Path, url: str) -> tuple[Inventory, float, float]:
    """read_storage + inventory_from_view on the directory: the inventory, the seconds of
    the read, the seconds of the inventory built from it."""
    from dregtui.ops.storage_inventory import inventory_from_view
    from dregtui.storage.layout import read_storage
    from dregtui.storage.opening import open_storage, parse_storage

    started = time.perf_counter()
    storage = open_storage(parse_storage(str(root)))
    try:
        view = read_storage(storage)
    finally:
        storage.close()
    read = time.perf_counter() - started
    inventory = inventory_from_view(view, url)
    if view.warnings:
        print(f"storage warnings: {len(view.warnings)}, e.g. {view.warnings[0]}")
    return inventory, read, time.perf_counter() - started - read


def fingerprint(inventory: Inventory) -> str:
    """A SHA-256 of every repository's tags -> digests, sorted."""
    lines = []
    for name in inventory.repository_names():
        lines.append(f"{name}\n")
        for tag in inventory.tags(name):
            info = inventory.tag_info(name, tag)
            assert info is not None
            lines.append(f"{name}:{tag} {info.digest}\n")
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


def one(what: str, url: str, root: str) -> None:
    """In a process of its own: one timed run, its figures as a JSON line."""
    if what == "api":
        inventory, seconds = time_api(url)
        figures: dict[str, float | int | str] = {"seconds": seconds}
    else:
        inventory, read, build = time_storage(Path(root), url)
        figures = {"seconds": read + build, "read": read, "build": build}
    figures.update(tags=inventory.tag_count, fingerprint=fingerprint(inventory))
    print(json.dumps(figures))


def run_one(what: str, url: str, root: Path) -> dict[str, float | str]:
    argv = [sys.executable, __file__, "--one", what, url, str(root)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    figures: dict[str, float | str] = json.loads(out.splitlines()[-1])
    return figures


def main() -> int:
    if sys.argv[1:2] == ["--one"]:
        one(*sys.argv[2:5])
        return 0
    tags = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = data_for(tags)
    root = data / "storage"
    registry = LocalRegistry(workdir=data, config={"log": {"level": "error"}}).start()
    try:
        run_one("storage", registry.url, root)  # untimed: the page cache warm for both
        before = run_one("storage", registry.url, root)
        api = run_one("api", registry.url, root)
        stored = after = run_one("storage", registry.url, root)
    finally:
        registry.stop()
    api_s = float(api["seconds"])
    storage_s = (float(before["seconds"]) + float(after["seconds"])) / 2
    read_s = (float(before["read"]) + float(after["read"])) / 2
    build_s = (float(before["build"]) + float(after["build"])) / 2
    print(
        f"API scan     : {api['tags']:7d} tags in {api_s:7.2f} s = "
        f"{float(api['tags']) / api_s:9.0f} tags/s"
    )
    print(
        f"storage view : {stored['tags']:7d} tags in {storage_s:7.2f} s = "
        f"{float(stored['tags']) / storage_s:9.0f} tags/s (read_storage {read_s:.2f} s, "
        f"inventory_from_view {build_s:.2f} s; the mean of a run just before the API scan, "
        f"{float(before['seconds']):.2f} s, and one just after, {float(after['seconds']):.2f} s)"
    )
    same = all(
        api["fingerprint"] == run["fingerprint"] and api["tags"] == run["tags"]
        for run in (before, after)
    )
    ratio = api_s / storage_s
    print(
        f"summary: the storage view is {ratio:.1f}x faster than the API scan at {tags:,} tags "
        f"(target {TARGET:.0f}x: {'met' if ratio >= TARGET else 'NOT met'}); "
        f"tags -> digests {'the same' if same else 'DIFFER'}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    sys.exit(main())
