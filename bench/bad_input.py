"""Issue 11, the registry's side: hostile tag-list pages and manifests, and a big honest one.

    python3 bench/bad_input.py            # every case below
    python3 bench/bad_input.py --real     # also a real distribution 2.8 holding 1,000,000 tags

Each answer is served from a child process (the tests' scripted fake registry), and
`dregtui -reg URL -c CACHE list-tag-names` runs in another child against it: its exit code,
wall time, peak RSS (``ru_maxrss`` of that child), whether a cache file was left, and its
stderr. The honest case (one page of 1,000,000 distinct tags, as distribution 2.8 sends it)
is read by ``RegistryClient.list_tags`` alone: a scan would then resolve a million tags.
Baseline: a bare ``import dregtui.cli.main``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MB = 1024 * 1024
REPO = "ci/app"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def names_block(prefix: str, count: int) -> bytes:
    return b"".join(b'"%s%07d",' % (prefix.encode(), i) for i in range(count))


def serve(case: str) -> None:
    """Child: serve ``case`` and print the URL; stop when stdin closes."""
    from support.fake_server import FakeRegistry, Large, Reply, json_reply

    fake = FakeRegistry().start()
    fake.route("GET", "/v2/_catalog", json_reply({"repositories": [REPO]}))
    tags_path = f"/v2/{REPO}/tags/list"
    head = b'{"name":"%s","tags":[' % REPO.encode()
    if case.startswith("tags-5M"):  # 5,000 x the same 1,000 names: 5,000,000, 55 MB
        page = Large(head, names_block("h", 1000), 5000, b'"end"]}', chunked="chunked" in case)
        fake.route("GET", tags_path, Reply(200, large=page))
    elif case == "tags-endless":  # chunked, 200 MB, never a valid end before that
        fake.route(
            "GET", tags_path, Reply(200, large=Large(head, b'"x",' * 16384, 3200, b"", True))
        )
    elif case == "tags-1M":  # an honest 2.8 page: 1,000,000 distinct CI tags, 19 MB
        body = (
            b'{"name":"%s","tags":[' % REPO.encode()
            + b",".join(b'"2024%04d-%07x"' % (i % 10000, i) for i in range(1_000_000))
            + b"]}"
        )
        fake.route("GET", tags_path, Reply(200, body, {"Content-Type": "application/json"}))
    elif case == "tags-2M-64MB":  # the largest page read: 2,000,000 names, 64 MB
        body = (
            b'{"name":"%s","tags":[' % REPO.encode()
            + b",".join(b'"main-2024%04d-%016x"' % (i % 10000, i) for i in range(1_999_990))
            + b"]}"
        )
        fake.route("GET", tags_path, Reply(200, body, {"Content-Type": "application/json"}))
    elif case.startswith("manifest-100MB"):
        fake.route("GET", tags_path, json_reply({"name": REPO, "tags": ["1.0"]}))
        body = Large(
            b'{"schemaVersion":2,"mediaType":"%s","layers":[' % MANIFEST.encode(),
            b" " * 1024,
            100 * 1024,
            b"]}",
            chunked="chunked" in case,
        )
        fake.route(
            "GET",
            f"/v2/{REPO}/manifests/1.0",
            Reply(200, headers={"Content-Type": MANIFEST}, large=body),
        )
    print(fake.url, flush=True)
    sys.stdin.read()
    fake.stop()


def measure(argv: list[str]) -> tuple[int, float, int, str]:
    """Run ``argv`` as a child: exit code, seconds, peak RSS in MB, stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        err.seek(0)
        text = err.read().decode(errors="replace").strip()
    return proc.returncode, seconds, usage.ru_maxrss // 1024, text


def run_case(case: str) -> None:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", case],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    url = server.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache.json"
            if case in ("tags-1M", "tags-2M-64MB"):
                code = (
                    "from dregtui.registry.client import RegistryClient\n"
                    f"with RegistryClient({url!r}, timeout=60) as c:\n"
                    f"    print(len(c.list_tags({REPO!r})))\n"
                )
                argv = [sys.executable, "-c", code]
            else:
                argv = [sys.executable, "-m", "dregtui", "-reg", url, "-c", str(cache)]
                argv += ["--timeout", "60", "list-tag-names"]
            rc, seconds, rss, err = measure(argv)
            left = "cache left" if cache.exists() else "no cache"
        print(f"{case:24} exit {rc}  {seconds:5.2f} s  peak RSS {rss:4d} MB  {left}")
        if err:
            print(f"{'':24} {err}")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def run_real(count: int) -> None:
    """A real distribution 2.8 with ``count`` tags (empty entries in its tags directory: all
    its tags/list reads), listed by ``RegistryClient.list_tags`` in a child."""
    from dregtui.demo.images import ImagePusher
    from dregtui.demo.server import LocalRegistry
    from dregtui.registry.client import RegistryClient

    shm = Path("/dev/shm")  # a million files: seconds in memory, minutes on a busy disk
    workdir = Path(tempfile.mkdtemp(prefix="dregtui-bench-", dir=shm if shm.is_dir() else None))
    try:
        with LocalRegistry(workdir=workdir) as reg:
            with RegistryClient(reg.url) as c:
                ImagePusher(c).image(REPO, "latest", seed="bench")
            tags = reg.storage / f"docker/registry/v2/repositories/{REPO}/_manifests/tags"
            start = time.monotonic()
            for i in range(count):
                (tags / f"2024{i % 10000:04d}-{i:07x}").touch()
            print(f"real 2.8: {count:,} tags created in {time.monotonic() - start:.0f} s")
            code = (
                "from dregtui.registry.client import RegistryClient\n"
                f"with RegistryClient({reg.url!r}, timeout=120) as c:\n"
                f"    print(len(c.list_tags({REPO!r})))\n"
            )
            rc, seconds, rss, err = measure([sys.executable, "-c", code])
            print(f"{'real-2.8-tags':24} exit {rc}  {seconds:5.2f} s  peak RSS {rss:4d} MB  {err}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve")
    parser.add_argument("--real", type=int, nargs="?", const=1_000_000, default=0)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    rc, seconds, rss, _ = measure([sys.executable, "-c", "import dregtui.cli.main"])
    print(f"{'baseline (import)':24} exit {rc}  {seconds:5.2f} s  peak RSS {rss:4d} MB")
    for case in (
        "tags-1M",
        "tags-2M-64MB",
        "tags-5M",
        "tags-5M-chunked",
        "tags-endless",
        "manifest-100MB",
        "manifest-100MB-chunked",
    ):
        run_case(case)
    if args.real:
        run_real(args.real)


if __name__ == "__main__":
    main()
