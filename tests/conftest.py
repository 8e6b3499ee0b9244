"""Shared fixtures: real `docker-registry` processes on loopback, and a sample population.

Fixtures:
- ``make_registry(config=None, tls=None)``: start a fresh registry (function scope), stopped after.
- ``registry``: a fresh, empty, open registry for one test (deletion enabled).
- ``client``: a RegistryClient on ``registry``; ``pusher``: an ImagePusher on it.
- ``big_registry``: session-scoped, read-only open registry holding BIG_REPOS repositories, filled
  once per run and shared by the xdist workers
  (more than 100, so catalog pagination is exercised) with a few tags each; do not mutate it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dregtui.demo.images import ImagePusher
from dregtui.demo.server import LocalRegistry, find_registry_binary
from dregtui.registry.client import RegistryClient

BIG_REPOS = 130


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if find_registry_binary() is None:
        raise pytest.UsageError("docker-registry is not installed: apt-get install docker-registry")
    # The long runs (kills, signals: seconds each) first, so the two xdist workers do not end
    # with one of them alone on a long test.
    items.sort(key=lambda item: item.get_closest_marker("reliability") is None)


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's registry settings, docker config, cache or data dirs."""
    for name in list(os.environ):
        if name.startswith(("REGISTRY", "DREGTUI_")) or name in (
            "REQUESTS_CA_BUNDLE",
            "DOCKER_CONFIG",
        ):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))


@pytest.fixture
def make_registry() -> Iterator[Callable[..., LocalRegistry]]:
    started: list[LocalRegistry] = []

    def start(
        config: dict[str, Any] | None = None, tls: tuple[str, str] | None = None
    ) -> LocalRegistry:
        reg = LocalRegistry(config=config or {}, tls=tls).start()
        started.append(reg)
        return reg

    yield start
    for reg in started:
        reg.cleanup()


@pytest.fixture
def registry(make_registry: Callable[..., LocalRegistry]) -> LocalRegistry:
    return make_registry()


@pytest.fixture
def client(registry: LocalRegistry) -> Iterator[RegistryClient]:
    with RegistryClient(registry.url) as c:
        yield c


@pytest.fixture
def pusher(client: RegistryClient) -> ImagePusher:
    return ImagePusher(client)


def _fill_big_storage(storage: Path) -> None:
    reg = LocalRegistry(config={"storage": {"filesystem": {"rootdirectory": str(storage)}}})
    reg.start()
    try:
        with RegistryClient(reg.url) as c:
            p = ImagePusher(c)
            for i in range(BIG_REPOS):
                repo = f"ns{i % 7}/repo-{i:03d}"
                base = p.image(repo, "1.0", seed=f"big/{i}")
                p.tag(repo, "latest", base)
                p.image(repo, "1.1", seed=f"big/{i}/1.1")
    finally:
        reg.cleanup()


@pytest.fixture(scope="session")
def big_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """The storage is filled once per test run, under a lock, and shared by the xdist workers;
    each worker serves it read-only from a registry process of its own."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's temp root, the same for every worker
    storage = root / "big-registry-storage"
    with open(root / "big-registry.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (storage / "READY").exists():
            shutil.rmtree(storage, ignore_errors=True)
            _fill_big_storage(storage)
            (storage / "READY").touch()
    config = {
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "maintenance": {"readonly": {"enabled": True}},
        }
    }
    reg = LocalRegistry(config=config).start()
    yield reg
    reg.cleanup()


# -- CLI helpers (scanner/cache/CLI tests) ------------------------------------------------


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out[:500]!r}, err={self.err[:500]!r})"


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    """``run_cli(*argv, env=None, progress=None)`` -> CliResult(code, out, err) via cli.main."""
    import io

    from dregtui.cli.main import main

    def run(*argv: str, env: dict[str, str] | None = None, progress: Any = None) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), env=env, stdout=out, stderr=err, progress=progress)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def small_registry(make_registry: Callable[..., LocalRegistry]) -> LocalRegistry:
    """A fresh registry (mutable, may be stopped) with 12 repositories x 3 tags."""
    from concurrent.futures import ThreadPoolExecutor

    reg = make_registry()
    with RegistryClient(reg.url) as c:
        p = ImagePusher(c)

        def fill(i: int) -> None:
            repo = f"team/app-{i:02d}"
            base = p.image(repo, "1.0", seed=f"small/{i}")
            p.tag(repo, "latest", base)
            p.image(repo, "2.0", seed=f"small/{i}/2")

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fill, range(12)))
    return reg


# Registry variants (auth, TLS, deletion disabled) and the fake server: tests/support/fixtures.py
from support.fixtures import (  # noqa: E402, F401
    fake_registry,
    htpasswd_registry,
    nodelete_registry,
    tls_files,
    tls_registry,
    token_issuer,
    token_registry,
)
