"""Fixtures for registry variants (imported at the end of tests/conftest.py).

- ``tls_files``: session-wide throw-away PKI (server CA + cert, client CA + cert, stranger).
- ``htpasswd_registry``: a real registry with bcrypt htpasswd auth (user alice / wonderland).
- ``token_registry``: a real registry with token auth and a :class:`TokenIssuer` (``.issuer``).
- ``tls_registry``: a real registry over HTTPS that requires client certificates.
- ``nodelete_registry``: a real registry with deletion disabled.
- ``fake_registry``: a scripted :class:`FakeRegistry` for broken behaviour.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dregtui.demo.server import LocalRegistry
from support.fake_server import FakeRegistry
from support.tls import TLSFiles, make_tls_files
from support.token_issuer import TokenIssuer

USER = "alice"
PASSWORD = "wonderland"


@dataclass
class AuthRegistry:
    registry: LocalRegistry
    username: str = USER
    password: str = PASSWORD
    issuer: TokenIssuer | None = None
    tls: TLSFiles | None = None

    @property
    def url(self) -> str:
        return self.registry.url


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    lines = []
    for user, password in users.items():
        out = subprocess.run(
            ["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True
        ).stdout
        lines.append(out.strip())
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def htpasswd_registry(make_registry: Callable[..., LocalRegistry], tmp_path: Path) -> AuthRegistry:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", {USER: PASSWORD, "bob": "builder"})
    reg = make_registry(config={"auth": {"htpasswd": {"realm": "dregtui", "path": str(htpasswd)}}})
    return AuthRegistry(reg)


@pytest.fixture
def token_issuer(tmp_path: Path) -> Iterator[TokenIssuer]:
    issuer = TokenIssuer(tmp_path / "token", users={USER: PASSWORD, "reader": "readonly"})
    issuer.rights["reader"] = {"pull"}
    issuer.start()
    yield issuer
    issuer.stop()


@pytest.fixture
def token_registry(
    make_registry: Callable[..., LocalRegistry], token_issuer: TokenIssuer
) -> AuthRegistry:
    reg = make_registry(config=token_issuer.registry_config())
    return AuthRegistry(reg, issuer=token_issuer)


@pytest.fixture
def tls_registry(make_registry: Callable[..., LocalRegistry], tls_files: TLSFiles) -> AuthRegistry:
    reg = make_registry(
        config={"http": {"tls": {"clientcas": [tls_files.client_ca]}}},
        tls=(tls_files.server_cert, tls_files.server_key),
    )
    return AuthRegistry(reg, tls=tls_files)


@pytest.fixture
def nodelete_registry(make_registry: Callable[..., LocalRegistry]) -> LocalRegistry:
    return make_registry(config={"storage": {"delete": {"enabled": False}}})


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry().start()
    yield fake
    fake.stop()
