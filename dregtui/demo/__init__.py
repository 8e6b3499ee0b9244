"""A local registry with sample images, for ``dregtui demo`` and the test suite.

- :mod:`dregtui.demo.server`: :class:`LocalRegistry` (a real ``docker-registry`` process).
- :mod:`dregtui.demo.images`: :class:`ImagePusher` (synthetic images through the HTTP API).
- :mod:`dregtui.demo.sample`: :func:`populate` (the demo's sample content).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

IMAGE = "registry:2"


@dataclass
class ContainerRegistry:
    """The ``registry:2`` container on a free loopback port (when no registry binary exists)."""

    docker: str
    port: int = 0
    container: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ContainerRegistry:
        from dregtui.demo.server import free_port, wait_ready

        self.port = self.port or free_port()
        done = subprocess.run(
            [
                self.docker, "run", "-d", "--rm", "-p", f"127.0.0.1:{self.port}:5000",
                "-e", "REGISTRY_STORAGE_DELETE_ENABLED=true", IMAGE,
            ],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"docker could not start {IMAGE}: {done.stderr.strip()[-300:]}")
        self.container = done.stdout.strip()
        wait_ready(self.url, timeout=timeout)
        if not _answers(self.url):
            self.cleanup()
            raise RuntimeError(f"the {IMAGE} container did not answer within {timeout:.0f}s")
        return self

    def cleanup(self, *, background: bool = False) -> None:
        """Remove the container; ``background``: without waiting for docker (the demo quits)."""
        if self.container:
            argv = [self.docker, "rm", "-f", self.container]
            if background:
                subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            else:
                subprocess.run(argv, capture_output=True, timeout=30, check=False)
            self.container = None


def _answers(url: str) -> bool:
    import requests

    try:
        requests.get(url + "/v2/", timeout=2)
    except requests.RequestException:
        return False
    return True


def docker_engine() -> str | None:
    """The docker CLI, when a Docker engine answers."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    try:
        ok = subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return docker if ok.returncode == 0 else None


def start_demo_registry() -> object:
    """A started registry for the demo: the local binary, else the registry:2 container.

    Raises ``RegistryNotFound`` (with the install command) when neither is available.
    """
    from dregtui.demo.server import LocalRegistry, RegistryNotFound, find_registry_binary

    if find_registry_binary() is not None:
        return LocalRegistry().start()
    docker = docker_engine()
    if docker is not None:
        return ContainerRegistry(docker).start()
    raise RegistryNotFound(
        "no registry server found: install one with `apt-get install docker-registry` "
        "(Debian/Ubuntu), put the distribution `registry` binary on PATH, or start Docker"
    )
