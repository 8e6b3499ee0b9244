"""`dregtui demo` and its sample content, against the real registry."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from support.registry import cache_header, edit_cache_header
from support.tui import settle

from dregtui.cli.main import main
from dregtui.core.inventory import Inventory
from dregtui.core.oci import mediatypes
from dregtui.demo.sample import BIG_REPOSITORY, populate
from dregtui.demo.server import LocalRegistry, find_registry_binary
from dregtui.ops.scanner import Scanner
from dregtui.registry.client import RegistryClient
from dregtui.state.cache import InventoryCache
from dregtui.tui.app import DregApp


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let ``tui``/``demo`` go on without a terminal: the tests drive the app headless."""
    monkeypatch.setattr("dregtui.cli.commands.tui.has_terminal", lambda stdout: True)


def test_sample_shows_off_shared_digests_indexes_and_signatures(client: RegistryClient) -> None:
    populate(client, many_tags=50)
    inv = Scanner(client, jobs=8).scan()
    assert inv.repository_names() == [
        "ci/builds", "library/alpine", "library/nginx", "mirror/nginx", "team/api",
        "team/tools/lint", "team/web",
    ]  # fmt: skip
    assert len(inv.repositories[BIG_REPOSITORY]) == 50
    nginx = inv.repositories["library/nginx"]
    assert nginx["latest"].digest == nginx["1.26.1"].digest  # intersecting tags
    holders = {(r.repository, r.tag) for r in inv.holders(nginx["1.26.1"].digest)}
    assert ("mirror/nginx", "1.26.1") in holders  # shared across repositories
    api = inv.repositories["team/api"]
    assert inv.repositories["team/web"]["api-base"].digest == api["v1.3.0"].digest
    assert api["v1.4.2"].digest.replace(":", "-") + ".sig" in api
    alpine = inv.repositories["library/alpine"]["3.20"]
    assert mediatypes.is_index(alpine.media_type) and len(inv.children[alpine.digest]) == 3
    config = client.get_manifest("team/api", api["v1.4.2"].digest).config
    assert config is not None  # labels and created dates live in the config blob


def test_demo_without_registry_binary(monkeypatch: pytest.MonkeyPatch, terminal: None) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    err = io.StringIO()
    assert main(["demo"], stderr=err, stdout=io.StringIO()) == 1
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "apt-get install docker-registry" in lines[0]


def test_demo_runs_the_app_and_stops_the_registry(
    monkeypatch: pytest.MonkeyPatch, terminal: None
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: DregApp, *args: object, **kwargs: object) -> None:
        assert self.client is not None
        seen["url"] = self.client.base_url
        seen["repos"] = self.client.list_repositories()
        seen["message"] = self.status_message
        # the demo's cache is written like any registry's (the command line run against the
        # demo registry reads what the TUI deleted) ...
        assert self.save_cache is not None
        inventory = Inventory(self.client.base_url)
        inventory.mark_scanned()
        self.save_cache(inventory, True)
        seen["cache"] = self.save_cache.cache.path  # type: ignore[attr-defined]
        assert seen["cache"].exists()

    import time

    import dregtui.demo

    started: list[Any] = []
    real_start = dregtui.demo.start_demo_registry

    def start() -> object:
        started.append(real_start())
        return started[-1]

    monkeypatch.setattr(dregtui.demo, "start_demo_registry", start)
    monkeypatch.setattr(DregApp, "run", fake_run)
    err = io.StringIO()
    assert main(["demo", "--tags", "12"], stderr=err, stdout=io.StringIO()) == 0
    assert "team/api" in seen["repos"] and "pushing 12 tags" in seen["message"]
    assert not seen["cache"].exists()  # ... and removed with the registry
    with pytest.raises(Exception), RegistryClient(seen["url"], timeout=2) as gone:  # noqa: B017
        gone.ping()  # the registry was stopped on exit
    workdir = started[0].workdir
    deadline = time.monotonic() + 20
    while workdir.exists():  # removed by a detached process, after main returned
        assert time.monotonic() < deadline, f"{workdir} was never removed"
        time.sleep(0.05)


def test_quitting_during_the_fill_drops_the_pushes_still_queued(client: RegistryClient) -> None:
    """The demo quits while ci/builds is still filling: stop() returns once the pushes in
    flight end (it used to push all the rest first, ~10 s), and on_done is not called."""
    import time

    from dregtui.demo.sample import BackgroundFill

    done: list[Exception | None] = []
    fill = BackgroundFill(client.base_url, 3000, done.append).start()
    deadline = time.monotonic() + 30
    while len(client.list_tags(BIG_REPOSITORY) or []) < 20:
        assert time.monotonic() < deadline and fill.thread.is_alive(), "the fill never started"
        time.sleep(0.02)
    fill.stop(timeout=10)
    assert not fill.thread.is_alive() and done == []
    assert len(client.list_tags(BIG_REPOSITORY)) < 3000


def test_demo_fills_the_big_repository_while_on_screen(
    monkeypatch: pytest.MonkeyPatch, terminal: None
) -> None:
    """The screen is up at once; ci/builds fills in the background and is rescanned after."""
    import asyncio
    import time

    seen: dict[str, Any] = {}

    def fake_run(self: DregApp, *args: object, **kwargs: object) -> None:
        async def drive() -> None:
            async with self.run_test(size=(100, 30)) as pilot:
                deadline = time.monotonic() + 60
                status = self.query_one("#status")
                while (
                    len(self.session.inventory.repositories.get(BIG_REPOSITORY, {})) < 30
                    or status.message
                ):
                    assert time.monotonic() < deadline, "ci/builds never filled and rescanned"
                    await pilot.pause(0.1)
                seen["tags"] = len(self.session.inventory.repositories[BIG_REPOSITORY])
                seen["message"] = self.query_one("#status").message

        asyncio.run(drive())

    monkeypatch.setattr(DregApp, "run", fake_run)
    assert main(["demo", "--tags", "30"], stderr=io.StringIO(), stdout=io.StringIO()) == 0
    assert seen == {"tags": 30, "message": ""}


def test_tui_command_opens_from_the_cache(
    client: RegistryClient, monkeypatch: pytest.MonkeyPatch, terminal: None
) -> None:
    populate(client, many_tags=0)
    url = client.base_url
    assert main(["-reg", url, "list-repo-names"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    seen: dict[str, Any] = {}

    def fake_run(self: DregApp, *args: object, **kwargs: object) -> None:
        seen["from_cache"] = self.from_cache
        seen["repos"] = self.session.inventory.repository_names()

    monkeypatch.setattr(DregApp, "run", fake_run)
    assert main(["-reg", url], stdout=io.StringIO(), stderr=io.StringIO()) == 0  # no command = TUI
    assert seen["from_cache"] and "team/web" in seen["repos"]
    # the commands' cache rule holds for the TUI too: --max-cache-age, and a path that is no cache
    path = InventoryCache.for_registry(url).path
    edit_cache_header(path, scanned_at=cache_header(path)["scanned_at"] - 7200)  # two hours old
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    assert main(["-reg", url, "--max-cache-age", "1h"], **quiet) == 0
    assert not seen["from_cache"]
    err = io.StringIO()
    assert main(["-reg", url, "-c", "/dev/null"], stdout=io.StringIO(), stderr=err) == 1
    assert "/dev/null is a character device, not a dregtui cache" in err.getvalue()


def test_tui_scan_of_named_repositories_is_cached_as_a_closed_catalog(
    client: RegistryClient, monkeypatch: pytest.MonkeyPatch, terminal: None
) -> None:
    """--repositories scans only those: the cache says so, and a later run without them
    does not take that partial cache for the whole catalog."""
    import asyncio

    from dregtui.state.cache import InventoryCache

    populate(client, many_tags=0)
    url = client.base_url
    cache = InventoryCache.for_registry(url)
    seen: dict[str, Any] = {}

    def fake_run(self: DregApp, *args: object, **kwargs: object) -> None:
        seen["from_cache"] = self.from_cache

        async def drive() -> None:
            async with self.run_test(size=(80, 24)) as pilot:
                await settle(pilot)  # the scan worker saves the cache when it is done
                found = cache.read()
                assert found is not None and found.catalog == (self.fixed_repositories is None)

        asyncio.run(drive())

    monkeypatch.setattr(DregApp, "run", fake_run)
    argv = ["-reg", url, "--repositories", "team/api,team/web", "tui"]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    cached = cache.read()
    assert cached is not None and not cached.catalog
    assert cached.inventory.repository_names() == ["team/api", "team/web"]

    assert main(["-reg", url, "tui"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert seen["from_cache"] is False  # the partial cache was not used for the whole catalog
    cached = cache.read()
    assert cached is not None and cached.catalog
    assert "library/nginx" in cached.inventory.repositories


NO_TERMINAL = (
    "dregtui: error: the browser needs a terminal; use a command such as list-tag-names "
    "(see dregtui --help)"
)


@pytest.mark.parametrize("argv", [["-reg", "http://127.0.0.1:9"], ["tui"], ["demo"]])
def test_browser_refuses_without_a_terminal(argv: list[str]) -> None:
    """A CI job or a pipe gets one line and exit 1, before any registry is asked or started."""
    err = io.StringIO()
    assert main(argv, stdout=io.StringIO(), stderr=err) == 1
    assert err.getvalue().splitlines() == [NO_TERMINAL]


def test_browser_without_a_terminal_exits_at_once_in_a_real_process() -> None:
    """The real entry point, stdin and stdout not terminals: it must not hang drawing escapes."""
    import subprocess
    import sys

    for argv in (["-reg", "http://127.0.0.1:9"], ["demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "dregtui", *argv],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_TERMINAL + "\n")


def test_closing_the_terminal_still_removes_the_demo_registry() -> None:
    """SIGHUP (the terminal window closed) used to kill the demo without its cleanup: the temp
    dir stayed behind. A real process on a pseudo-terminal, bounded throughout."""
    import contextlib
    import fcntl
    import os
    import pty
    import signal
    import struct
    import subprocess
    import sys
    import termios
    import threading
    import time
    from pathlib import Path

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dregtui", "demo", "--tags", "0"],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    screen = bytearray()

    def drain() -> None:  # the app must never block writing to a full terminal
        with contextlib.suppress(OSError):
            while chunk := os.read(master, 65536):
                screen.extend(chunk)

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        while b"repositories" not in screen or not children.read_text().split():
            assert time.monotonic() < deadline and proc.poll() is None, bytes(screen[-500:])
            time.sleep(0.05)
        registry = int(children.read_text().split()[0])
        config = Path(f"/proc/{registry}/cmdline").read_bytes().split(b"\0")[2].decode()
        workdir = Path(config).parent
        assert workdir.name.startswith("dregtui-registry-") and workdir.exists()
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=15) == -signal.SIGHUP
        while workdir.exists() or Path(f"/proc/{registry}").exists():
            assert time.monotonic() < deadline + 20, f"{workdir} or the registry was left behind"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)


def test_local_registry_as_a_context_manager_serves_restarts_and_cleans_up() -> None:
    """``with LocalRegistry() as reg`` starts a real registry; ``restart`` keeps the storage;
    leaving the block stops it and removes its temp directory."""
    if find_registry_binary() is None:
        pytest.skip("docker-registry is not installed")
    with LocalRegistry() as registry:
        workdir = registry.workdir
        assert workdir is not None and workdir.is_dir()
        url = f"{registry.url}/v2/"
        assert requests.get(url, timeout=5).status_code == 200
        registry.restart()
        assert requests.get(url, timeout=5).status_code == 200
    assert registry.process is None
    assert not workdir.exists()
