"""Benchmark: cold full scan by dregtui vs the classic dregutil (docker-registry-util).

Populates (once, kept in bench/.data between runs) a registry of 300 repositories x 40 tags,
then times, on loopback and through a proxy adding ~20 ms round trip:
  - dregtui's Scanner over the whole registry (requests in flight: its window, up to 64;
    -j N caps it at N as the CLI's -j does);
  - the classic tool (`pip install docker-registry-util` into bench/.venv-classic), which
    ignores catalog pagination and so sees only the first 100 repositories;
  - `ab` (apache2-utils, a C client: the registry's own limit on this machine): HEAD of one
    tag's manifest with the scan's Accept header, 16 keep-alive connections, run just before
    and just after dregtui's timed scan (their mean is the figure). ab takes one URL, so it
    asks for the same manifest every time; the registry answers it from the same storage.
Prints tags seen, tags/s of each, and the ratios. Usage: python bench/scan.py [--skip-rtt]
The client and the registry share the machine's cores: quote ratios from one run.

``--scale N`` (e.g. 100000): N tags instead, N/100 repositories x 100 tags, written straight
into the registry's storage layout (bench/.data-N, once: pushing them would take hours; each
manifest is stored, its config and layer blobs are not, which a scan never reads), on
loopback only, without the scan without sizes; ab sends 20,000 HEADs, and curl (when
installed) 20,000 GETs of distinct manifests spread over the repositories: what the registry
serves when each request is a different manifest from storage, as a cold scan's are.
``--slices`` (with ``--scale``): dregtui and curl over distinct slices of 20,000 tags instead of
the whole registry (at 1,000,000 tags the storage outgrows the page cache and a whole scan takes
hours on the disk).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from latency_proxy import LatencyProxy  # noqa: E402

from dregtui.core.oci import mediatypes  # noqa: E402
from dregtui.demo.server import LocalRegistry  # noqa: E402
from dregtui.registry.client import RegistryClient  # noqa: E402

REPOS, TAGS = 300, 40
DATA = HERE / ".data"
VENV = HERE / ".venv-classic"


def populate(url: str) -> None:
    """300 x 40 Docker schema2 images (the classic tool only asks for schema2), one shared layer
    per repository and a unique config per tag, so every tag has its own digest."""
    with RegistryClient(url, pool_size=8) as client:

        def fill(i: int) -> None:
            repo = f"bench{i % 10}/repo-{i:03d}"
            layer_data = hashlib.sha256(repo.encode()).digest() * 4
            layer = client.upload_blob(repo, layer_data)
            for t in range(TAGS):
                config_data = json.dumps(
                    {"os": "linux", "architecture": "amd64", "tag": f"{repo}:{t}"}
                ).encode()
                config = client.upload_blob(repo, config_data)
                doc = {
                    "schemaVersion": 2,
                    "mediaType": mediatypes.DOCKER_MANIFEST,
                    "config": {
                        "mediaType": mediatypes.DOCKER_CONFIG,
                        "digest": config,
                        "size": len(config_data),
                    },
                    "layers": [
                        {
                            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "digest": layer,
                            "size": len(layer_data),
                        }
                    ],
                }
                client.put_manifest(
                    repo, f"1.{t}.0", json.dumps(doc).encode(), mediatypes.DOCKER_MANIFEST
                )

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(fill, range(REPOS)))


def populate_storage(root: Path, repos: int, tags: int) -> None:
    """``repos`` x ``tags`` schema2 manifests written as distribution's filesystem driver
    lays them out (registry/storage/paths.go): each manifest's blob, its revision link, and
    its tag's current and index links. Unique configs, so every tag has its own digest."""
    v2 = root / "storage" / "docker" / "registry" / "v2"
    layer_data = b"dregtui bench layer\n" * 50
    layer_hex = hashlib.sha256(layer_data).hexdigest()
    layer = f"sha256:{layer_hex}"
    layer_blob = v2 / "blobs" / "sha256" / layer_hex[:2] / layer_hex
    layer_blob.mkdir(parents=True, exist_ok=True)
    (layer_blob / "data").write_bytes(layer_data)

    def link(path: Path, digest: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "link").write_text(digest)

    def fill(i: int) -> None:
        repo = f"bench{i % 10}/repo-{i:03d}"
        manifests = v2 / "repositories" / repo / "_manifests"
        link(v2 / "repositories" / repo / "_layers" / "sha256" / layer_hex, layer)
        for t in range(tags):
            config = "sha256:" + hashlib.sha256(f"{repo}:{t}".encode()).hexdigest()
            doc = {
                "schemaVersion": 2,
                "mediaType": mediatypes.DOCKER_MANIFEST,
                "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": config, "size": 80},
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": layer,
                        "size": len(layer_data),
                    }
                ],
            }
            raw = json.dumps(doc, indent=3).encode()
            hexed = hashlib.sha256(raw).hexdigest()
            blob = v2 / "blobs" / "sha256" / hexed[:2] / hexed
            blob.mkdir(parents=True, exist_ok=True)
            (blob / "data").write_bytes(raw)
            digest = f"sha256:{hexed}"
            link(manifests / "revisions" / "sha256" / hexed, digest)
            tag = manifests / "tags" / f"1.{t}.0"
            link(tag / "current", digest)
            link(tag / "index" / "sha256" / hexed, digest)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(fill, range(repos)))


def classic_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "docker-registry-util", "setuptools"],
            check=True,
        )
    return py


def time_classic(url: str) -> tuple[int, float]:
    py = classic_python()
    code = (
        f"import sys; sys.argv=['dregutil','-reg',{url!r},'-c','None','-l','warning','list-tag-names'];"
        "from docker_registry_util.cli import main; main()"
    )
    start = time.perf_counter()
    out = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - start
    return len(out.splitlines()), elapsed


AB_CONNECTIONS = 16


def time_ab(url: str, requests: int) -> float | None:
    """Manifest HEADs per second that ab gets (None when ab is not installed)."""
    if shutil.which("ab") is None:
        return None
    target = f"{url}/v2/bench0/repo-000/manifests/1.0.0"
    accept = f"Accept: {mediatypes.MANIFEST_ACCEPT}"
    argv = ["ab", "-q", "-i", "-k", "-c", str(AB_CONNECTIONS), "-n", str(requests), "-H", accept]
    out = subprocess.run([*argv, target], check=True, capture_output=True, text=True).stdout
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if failed is None or int(failed.group(1)) or "Non-2xx" in out:
        raise SystemExit(f"ab did not get clean answers from {target}:\n{out}")
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    assert rate is not None, out
    return float(rate.group(1))


def time_curl(url: str, repos: int, tags: int, requests: int) -> float | None:
    """Manifest GETs per second that curl (a C client: one process, 16 parallel keep-alive
    transfers) gets over ``requests`` distinct manifests of the --scale layout, spread over
    the repositories: the registry's own limit for the requests a cold scan sends (each tag's
    manifest once, from storage), where ab asks for one manifest the registry has at hand.
    None when curl is not installed."""
    if shutil.which("curl") is None:
        return None
    per_repo = max(1, requests // repos)
    return curl_rate(url, range(repos), min(per_repo, tags), requests)


def curl_rate(url: str, repos: Iterable[int], tags: int, requests: int) -> float:
    """GETs/s curl gets over the first ``tags`` manifests of each of ``repos`` (--scale)."""
    urls = [
        f"{url}/v2/bench{i % 10}/repo-{i:03d}/manifests/1.{t}.0" for i in repos for t in range(tags)
    ][:requests]
    config = HERE / ".curl-urls"
    config.write_text("".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in urls))
    argv = ["curl", "-s", "-Z", "--parallel-max", str(AB_CONNECTIONS), "-w", "%{http_code}\n"]
    argv += ["-H", f"Accept: {mediatypes.MANIFEST_ACCEPT}", "-K", str(config)]
    try:
        start = time.perf_counter()
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        elapsed = time.perf_counter() - start
    finally:
        config.unlink()
    codes = out.split()
    if len(codes) != len(urls) or any(code != "200" for code in codes):
        raise SystemExit(f"curl did not get clean answers from {url}")
    return len(urls) / elapsed


def slices(url: str, repos: int, jobs: int | None) -> None:
    """dregtui and curl over distinct slices of 200 repositories x 100 tags, in the order
    dregtui, curl, curl, dregtui (a registry warming, or a disk's cache filling, favours neither):
    for a storage too big to scan whole in a sitting."""
    step = repos // 4

    def ours(first: int) -> float:
        names = [f"bench{i % 10}/repo-{i:03d}" for i in range(first, first + 200)]
        tags, seconds, _, window = time_dregtui(url, jobs, repositories=names)
        print(f"  dregtui: {tags / seconds:6.0f} tags/s (window at {window} in flight)")
        return tags / seconds

    def theirs(first: int) -> float:
        rate = curl_rate(url, range(first, first + 200), 100, 20_000)
        print(f"  curl   : {rate:6.0f} GETs/s ({AB_CONNECTIONS} parallel transfers)")
        return rate

    a, b, c, d = ours(0), theirs(step), theirs(2 * step), ours(3 * step)
    print(f"summary: dregtui's tags/s are {(a + d) / (b + c):.2f} of curl's GETs/s over slices")


def time_dregtui(
    url: str, jobs: int | None, sizes: bool = True, repositories: list[str] | None = None
) -> tuple[int, float, int, int]:
    """Tags seen, seconds, HTTP requests sent (every attempt) by one cold scan (of the whole
    registry, or of ``repositories``), and the requests in flight its window ended at."""
    from dregtui.ops.scanner import DEFAULT_CAP, Scanner

    start = time.perf_counter()
    with RegistryClient(url, pool_size=jobs or DEFAULT_CAP) as client:
        sent = [0]
        real = client.session.request

        def counting(*args: object, **kwargs: object) -> object:
            sent[0] += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        client.session.request = counting  # type: ignore[method-assign]
        scanner = Scanner(client, jobs=jobs, sizes=sizes)
        inventory = scanner.scan(repositories=repositories)
        if client.direct is not None:  # the manifest reads' fast lane (registry/direct.py)
            sent[0] += client.direct.sent
    elapsed = time.perf_counter() - start
    return inventory.tag_count, elapsed, sent[0], scanner.window.limit


def run(
    label: str,
    url: str,
    jobs: int | None,
    warm: bool,
    ab_requests: int,
    expected: int = REPOS * TAGS,
    bare: bool = True,
    distinct: tuple[int, int] | None = None,
) -> dict[str, float]:
    # Both timed runs meet a warm registry: one untimed pass first, then the classic tool,
    # then dregtui (the registry's in-memory descriptor cache favours whoever runs later).
    if warm:
        time_dregtui(url, jobs)
    classic_tags, classic_s = time_classic(url)
    ab_before = time_ab(url, ab_requests)
    curl_before = time_curl(url, *distinct, ab_requests) if distinct else None
    ours_tags, ours_s, ours_requests, window = time_dregtui(url, jobs)
    curl_after = time_curl(url, *distinct, ab_requests) if distinct else None
    ab_after = time_ab(url, ab_requests)
    ours_rate, classic_rate = ours_tags / ours_s, classic_tags / classic_s
    print(
        f"[{label}] dregtui : {ours_tags:6d} tags in {ours_s:7.2f} s = {ours_rate:8.1f} tags/s "
        f"(jobs={jobs or 'default'}; the window ended at {window} in flight)"
    )
    print(
        f"[{label}] dregutil: {classic_tags:6d} tags in {classic_s:7.2f} s = {classic_rate:8.1f} tags/s "
        f"(first 100 repositories only)"
    )
    if bare:
        bare_tags, bare_s, bare_requests, _ = time_dregtui(url, jobs, sizes=False)
        print(
            f"[{label}] sizes   : the scan with sizes takes {ours_s / bare_s:.2f}x the time of "
            f"one without; {ours_requests / ours_tags:.3f} requests a tag with, "
            f"{bare_requests / bare_tags:.3f} without"
        )
    print(
        f"[{label}] ratio   : {ours_rate / classic_rate:.1f}x tags/s; dregtui saw "
        f"{ours_tags}/{expected} tags, dregutil {classic_tags}"
    )
    figures = {"ours": ours_rate, "classic": classic_rate}
    for name, before, after, unit, how in (
        ("ab", ab_before, ab_after, "HEADs/s", "one URL, keep-alive connections"),
        (
            "curl",
            curl_before,
            curl_after,
            "GETs/s",
            f"{ab_requests} distinct manifests, parallel transfers",
        ),
    ):
        if before is None or after is None:
            continue
        rate = figures[name] = (before + after) / 2
        print(
            f"[{label}] {name:8s}: {rate:8.1f} manifest {unit} ({before:.0f} before, "
            f"{after:.0f} after; {how}: {AB_CONNECTIONS})"
        )
        print(
            f"[{label}] vs {name:5s}: dregtui's tags/s are {ours_rate / rate:.2f} of {name}'s {unit}"
        )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-rtt", action="store_true", help="only the loopback run")
    parser.add_argument("-j", "--jobs", type=int, help="cap (default: the scanner's own)")
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    parser.add_argument("--scale", type=int, help="N tags written into the storage (loopback)")
    parser.add_argument(
        "--slices", action="store_true", help="with --scale: slices of 20,000 tags, not all"
    )
    args = parser.parse_args()
    if args.scale:
        return scale(args.scale, args.jobs, args.slices)
    DATA.mkdir(exist_ok=True)
    fresh = not (DATA / "populated").exists()
    registry = LocalRegistry(workdir=DATA, config={"log": {"level": "error"}}).start()
    try:
        if fresh:
            print(f"populating {REPOS} x {TAGS} (once; kept in {DATA}) ...", flush=True)
            t0 = time.perf_counter()
            populate(registry.url)
            (DATA / "populated").write_text("ok\n")
            print(f"populated in {time.perf_counter() - t0:.0f} s", flush=True)
        started = time.perf_counter()
        loop = run("loopback", registry.url, args.jobs, warm=True, ab_requests=REPOS * TAGS)
        rtt: dict[str, float] = {}
        if not args.skip_rtt:
            proxy = LatencyProxy(registry.port, one_way=args.rtt_ms / 2000)
            try:  # the registry is warm from the loopback run
                label = f"+{args.rtt_ms:.0f}ms RTT"
                rtt = run(label, proxy.url, args.jobs, warm=False, ab_requests=4000)
            finally:
                proxy.close()
        summary = [f"loopback {loop['ours'] / loop['classic']:.1f}x the classic tool"]
        if "ab" in loop:
            summary.append(f"{loop['ours'] / loop['ab']:.2f} of ab")
        if rtt:
            summary.append(f"+{args.rtt_ms:.0f} ms RTT {rtt['ours'] / rtt['classic']:.1f}x")
        print(f"summary: {', '.join(summary)} ({time.perf_counter() - started:.0f} s)")
    finally:
        registry.stop()
    return 0


def scale(tags: int, jobs: int | None, sliced: bool = False) -> int:
    repos = max(1, tags // 100)
    data = HERE / f".data-{tags}"
    if not (data / "populated").exists():
        print(f"writing {repos} x 100 into the storage (once; kept in {data}) ...", flush=True)
        t0 = time.perf_counter()
        shutil.rmtree(data, ignore_errors=True)
        populate_storage(data, repos, 100)
        (data / "populated").write_text("ok\n")
        print(f"written in {time.perf_counter() - t0:.0f} s", flush=True)
    registry = LocalRegistry(workdir=data, config={"log": {"level": "error"}}).start()
    if sliced:
        try:
            slices(registry.url, repos, jobs)
        finally:
            registry.stop()
        return 0
    try:
        started = time.perf_counter()
        # like the 300 x 40 run: the registry warm (one untimed pass) before the timed ones
        loop = run(
            f"{tags:,} tags",
            registry.url,
            jobs,
            True,
            20_000,
            expected=repos * 100,
            bare=False,
            distinct=(repos, 100),
        )
        summary = [f"{loop['ours'] / loop['classic']:.1f}x the classic tool"]
        if "ab" in loop:
            summary.append(f"{loop['ours'] / loop['ab']:.2f} of ab")
        if "curl" in loop:
            summary.append(f"{loop['ours'] / loop['curl']:.2f} of curl over distinct manifests")
        print(f"summary: {', '.join(summary)} ({time.perf_counter() - started:.0f} s)")
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    sys.exit(main())
