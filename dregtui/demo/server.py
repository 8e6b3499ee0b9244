"""Start a real Docker registry (distribution) on a free loopback port in a temp directory.

Used by ``dregtui demo`` and by the test suite. Looks for the ``docker-registry`` (Debian) or
``registry`` binary on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

BINARIES = ("docker-registry", "registry")
INSTALL_HINT = (
    "no registry server found: install one with `apt-get install docker-registry` "
    "(Debian/Ubuntu), or put the distribution `registry` binary on PATH"
)


class RegistryNotFound(RuntimeError):
    pass


def find_registry_binary() -> str | None:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _yaml(value: Any, indent: int = 0) -> str:
    """Tiny YAML writer for the registry config (JSON scalars are valid YAML)."""
    pad = "  " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.append(_yaml(item, indent + 1))
        else:
            lines.append(f"{pad}{key}: {json.dumps(item)}")
    return "\n".join(line for line in lines if line)


@dataclass
class LocalRegistry:
    """A registry process. ``config`` entries are merged into the default config.

    Example: ``LocalRegistry(config={"storage": {"delete": {"enabled": False}}})``; a ``None``
    value removes the key (``{"storage": {"filesystem": None, "s3": {...}}}``).
    ``tls`` is ``(certfile, keyfile)`` to serve HTTPS; ``url`` then starts with https.
    ``env``: changes to the registry process's environment, a ``None`` value unsets the name.
    """

    config: dict[str, Any] = field(default_factory=dict)
    workdir: Path | None = None
    port: int = 0
    tls: tuple[str, str] | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _own_workdir: bool = False

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "storage"

    def build_config(self) -> dict[str, Any]:
        assert self.workdir is not None
        http: dict[str, Any] = {"addr": f"127.0.0.1:{self.port}", "secret": "dregtui-test-secret"}
        if self.tls:
            http["tls"] = {"certificate": self.tls[0], "key": self.tls[1]}
        base: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
            },
            "http": http,
        }
        return _merge(base, self.config)

    def start(self, timeout: float = 20.0) -> LocalRegistry:
        binary = find_registry_binary()
        if binary is None:
            raise RegistryNotFound(INSTALL_HINT)
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="dregtui-registry-"))
            self._own_workdir = True
        self.storage.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        config_path = self.workdir / "config.yml"
        config_path.write_text(_yaml(self.build_config()) + "\n")
        log = open(self.workdir / "registry.log", "ab")  # noqa: SIM115 - lives with the process
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        for name, value in self.env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.process = subprocess.Popen(
            [binary, "serve", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # PDEATHSIG follows the starting *thread*: only safe from the main thread.
            preexec_fn=_die_with_parent
            if threading.current_thread() is threading.main_thread()
            else None,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "the registry exited at start: "
                    + (self.workdir / "registry.log").read_text(errors="replace")[-2000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the registry did not start listening within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self, *, background: bool = False) -> None:
        """Stop the registry and remove its temp directory. ``background``: leave the removal
        (seconds for a big sample: tens of thousands of small files) to a detached process so
        the caller can exit at once."""
        self.stop()
        if not (self._own_workdir and self.workdir is not None):
            return
        if not (background and remove_in_background(self.workdir)):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self, timeout: float = 20.0) -> None:
        self.stop()
        self.start(timeout)

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def remove_in_background(path: Path) -> bool:
    """Remove ``path`` in a detached process that outlives this one; False if none started."""
    code = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"
    try:
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not killed with the terminal's process group
        )
    except OSError:
        return False
    return True


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the registry when its parent dies (no leaked servers)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def wait_ready(url: str, timeout: float = 10.0, verify: bool | str = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/v2/", timeout=1, verify=verify)
            return
        except requests.RequestException:
            time.sleep(0.05)
