"""Auth against the real registry: htpasswd (Basic), token auth (Bearer), docker config."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from support.fixtures import PASSWORD, USER

from dregtui.core.errors import (
    AuthenticationError,
    AuthorizationError,
    CatalogUnavailableError,
    RegistryConnectionError,
)
from dregtui.demo.images import ImagePusher
from dregtui.registry.auth import TokenCache
from dregtui.registry.client import RegistryClient
from dregtui.registry.credentials import resolve_credentials


def _write_docker_config(path: Path, doc: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(doc))
    return path


def _host(url: str) -> str:
    return url.split("://", 1)[1]


def _helper(bin_dir: Path, name: str, answers: dict[str, tuple[str, str]]) -> Path:
    """A ``docker-credential-<name>`` script answering ``get`` from ``answers``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    table = json.dumps({k: {"Username": u, "Secret": s} for k, (u, s) in answers.items()})
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"table = json.loads({table!r})\n"
        "server = sys.stdin.read().strip()\n"
        "if sys.argv[1:] != ['get'] or server not in table:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "print(json.dumps(dict(table[server], ServerURL=server)))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


# -- htpasswd (Basic) ----------------------------------------------------------------------


def test_htpasswd_right_credentials(htpasswd_registry):
    url = htpasswd_registry.url
    with RegistryClient(url, username=USER, password=PASSWORD) as c:
        c.ping()
        ImagePusher(c).image("private/app", "1.0")
        assert c.list_repositories() == ["private/app"]
        assert c.list_tags("private/app") == ["1.0"]
        assert c.credentials_source == "command line/environment"


def test_htpasswd_wrong_and_missing_credentials(htpasswd_registry):
    url = htpasswd_registry.url
    with (
        RegistryClient(url, username=USER, password="nope") as c,
        pytest.raises(AuthenticationError) as err,
    ):
        c.ping()
    message = str(err.value)
    assert "rejected the credentials" in message and "nope" not in message and "\n" not in message
    with RegistryClient(url) as c, pytest.raises(AuthenticationError) as err:
        c.list_tags("private/app")
    assert "requires credentials" in str(err.value)


def test_htpasswd_credentials_from_docker_config_auths(htpasswd_registry, tmp_path, monkeypatch):
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    config = _write_docker_config(
        tmp_path / "dockercfg",
        {"auths": {f"http://{_host(htpasswd_registry.url)}/v1/": {"auth": token}}},
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    with RegistryClient(htpasswd_registry.url) as c:
        c.ping()
        assert "auths" in c.credentials_source and token not in c.credentials_source
    # an explicit docker_config path wins; explicit -u/-p win over it
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "elsewhere"))
    with RegistryClient(htpasswd_registry.url, docker_config=str(config)) as c:
        c.ping()
    with (
        RegistryClient(
            htpasswd_registry.url, username="bob", password="bad", docker_config=str(config)
        ) as c,
        pytest.raises(AuthenticationError),
    ):
        c.ping()


def test_htpasswd_credentials_from_credential_helpers(htpasswd_registry, tmp_path, monkeypatch):
    host = _host(htpasswd_registry.url)
    bin_dir = tmp_path / "bin"
    _helper(bin_dir, "test", {host: (USER, PASSWORD)})
    _helper(bin_dir, "store", {host: ("bob", "builder")})
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = _write_docker_config(
        tmp_path / "dockercfg",
        {"credHelpers": {host: "test"}, "credsStore": "store", "auths": {host: {}}},
    )
    creds = resolve_credentials(htpasswd_registry.url, docker_config=str(config))
    assert creds.username == USER and creds.source == "credential helper docker-credential-test"
    assert PASSWORD not in repr(creds)
    with RegistryClient(htpasswd_registry.url, docker_config=str(config)) as c:
        c.ping()
    # credsStore when no credHelpers entry names the host
    config = _write_docker_config(tmp_path / "dockercfg2", {"credsStore": "store"})
    creds = resolve_credentials(htpasswd_registry.url, docker_config=str(config))
    assert (creds.username, creds.source) == ("bob", "credential helper docker-credential-store")
    with RegistryClient(htpasswd_registry.url, docker_config=str(config)) as c:
        c.ping()
    # a helper that has nothing (exit 1) or is missing means: no credentials
    config = _write_docker_config(tmp_path / "dockercfg3", {"credsStore": "missing-helper"})
    assert not resolve_credentials("https://other:5000", docker_config=str(config)).present


def test_docker_config_key_forms_and_identity_token(tmp_path):
    auth = base64.b64encode(b"u:p:with:colons").decode()
    for key in ("reg.example:5000", "https://reg.example:5000", "https://reg.example:5000/v1/"):
        config = _write_docker_config(
            tmp_path / key.replace("/", "_"), {"auths": {key: {"auth": auth}}}
        )
        creds = resolve_credentials("https://reg.example:5000", docker_config=str(config))
        assert (creds.username, creds.password) == ("u", "p:with:colons"), key
    config = _write_docker_config(
        tmp_path / "idt", {"auths": {"reg.example": {"identitytoken": "refresh-me"}}}
    )
    creds = resolve_credentials("reg.example", docker_config=str(config))
    assert creds.identity_token == "refresh-me" and creds.present
    assert not resolve_credentials("reg.example:5000", docker_config=str(config)).present


# -- token auth (Bearer) -------------------------------------------------------------------


def test_token_auth_full_cycle_and_token_caching(token_registry):
    issuer = token_registry.issuer
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD, pool_size=16) as c:
        c.ping()
        pusher = ImagePusher(c)
        pushed = pusher.image("tok/app", "1.0")
        pusher.image("tok/other", "1.0")
        assert c.list_repositories() == ["tok/app", "tok/other"]
        before = issuer.count("repository:tok/app:pull")
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(5):
                    assert c.head_manifest("tok/app", "1.0").digest == pushed.digest
                    assert c.list_tags("tok/app") == ["1.0"]
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors
        assert issuer.count("repository:tok/app:pull") == before == 1
        assert issuer.count("registry:catalog:*") == 1
        assert c.delete_manifest("tok/app", pushed.digest) == "deleted"
    assert all(r.account == USER for r in issuer.requests)


def test_token_auth_wrong_credentials(token_registry):
    with (
        RegistryClient(token_registry.url, username=USER, password="wrong") as c,
        pytest.raises(AuthenticationError) as err,
    ):
        c.ping()
    assert "token server" in str(err.value) and "wrong" not in str(err.value)


def test_token_with_fewer_rights_reads_but_cannot_delete(token_registry):
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as admin:
        pushed = ImagePusher(admin).image("ro/app", "1")
    with RegistryClient(token_registry.url, username="reader", password="readonly") as c:
        c.ping()
        assert c.list_tags("ro/app") == ["1"]
        with pytest.raises(AuthorizationError):
            c.delete_manifest("ro/app", pushed.digest)
        with pytest.raises(CatalogUnavailableError) as err:
            c.list_repositories()
    assert "--repositories" in str(err.value)


def test_anonymous_token_has_no_rights(token_registry):
    with RegistryClient(token_registry.url) as c:
        c.ping()  # /v2/ needs a token, but no access
        with pytest.raises(AuthenticationError) as err:
            c.list_tags("any/app")
    assert "requires credentials" in str(err.value)


def test_token_renewal_on_expiry(token_registry):
    """A token is used until it expires (less a safety margin), then fetched again."""
    issuer = token_registry.issuer
    issuer.expires_in = 60
    now = [1000.0]
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:
        c.auth.tokens = TokenCache(clock=lambda: now[0])
        ImagePusher(c).image("exp/app", "1")
        assert c.list_tags("exp/app") == ["1"]
        count = issuer.count("repository:exp/app:pull")
        now[0] += 50  # still valid: 60 s less the 6 s margin
        assert c.list_tags("exp/app") == ["1"]
        assert issuer.count("repository:exp/app:pull") == count
        now[0] += 5
        assert c.list_tags("exp/app") == ["1"]
        assert issuer.count("repository:exp/app:pull") == count + 1


def test_token_renewal_on_invalid_token(token_registry):
    issuer = token_registry.issuer
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:
        ImagePusher(c).image("inv/app", "1")
        assert c.list_tags("inv/app") == ["1"]
        # the cached token becomes worthless (e.g. the issuer's key rotated)
        for key in list(c.auth.tokens._tokens):
            c.auth.tokens.put(key, "not-a-jwt", 300)
        before = issuer.count()
        assert c.list_tags("inv/app") == ["1"]
        assert issuer.count() == before + 1


@pytest.mark.parametrize("field", ["token", "access_token"])
def test_token_answer_fields_and_default_expiry(token_registry, field):
    issuer = token_registry.issuer
    issuer.token_field = field
    issuer.include_expires_in = False
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:
        ImagePusher(c).image("f/app", "1")
        assert c.list_tags("f/app") == ["1"]


def test_identity_token_is_used_as_refresh_token(token_registry, tmp_path):
    issuer = token_registry.issuer
    issuer.refresh_tokens["refresh-123"] = USER
    config = _write_docker_config(
        tmp_path / "dockercfg",
        {"auths": {_host(token_registry.url): {"identitytoken": "refresh-123"}}},
    )
    with RegistryClient(token_registry.url, docker_config=str(config)) as c:
        ImagePusher(c).image("idt/app", "1")
        assert c.list_tags("idt/app") == ["1"]
    assert issuer.requests and all(r.method == "POST" for r in issuer.requests)


def test_token_server_unreachable(make_registry, token_issuer):
    reg = make_registry(config=token_issuer.registry_config())
    token_issuer.stop()
    with (
        RegistryClient(reg.url, username=USER, password=PASSWORD, retries=1, backoff=0.01) as c,
        pytest.raises(RegistryConnectionError) as err,
    ):
        c.ping()
    assert "token server" in str(err.value) and PASSWORD not in str(err.value)


def test_sixteen_cold_workers_fetch_one_token(token_registry):
    issuer = token_registry.issuer
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:
        ImagePusher(c).image("cold/app", "1")
    before = issuer.count("repository:cold/app:pull")
    barrier = threading.Barrier(16)
    results: list[object] = []
    with RegistryClient(token_registry.url, username=USER, password=PASSWORD) as c:

        def worker() -> None:
            barrier.wait(timeout=10)
            try:
                results.append(c.list_tags("cold/app"))
            except Exception as exc:  # noqa: BLE001
                results.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert results == [["1"]] * 16
    assert issuer.count("repository:cold/app:pull") == before + 1


def test_broken_docker_config_and_identity_token_helper(tmp_path, monkeypatch, caplog):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert not resolve_credentials("reg.example", docker_config=str(broken)).present
    assert "not valid JSON" in caplog.text
    bin_dir = tmp_path / "bin"
    _helper(bin_dir, "idt", {"reg.example:5000": ("<token>", "refresh-xyz")})
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = _write_docker_config(
        tmp_path / "cfg", {"credHelpers": {"https://reg.example:5000": "idt"}}
    )
    creds = resolve_credentials("https://reg.example:5000/", docker_config=str(config))
    assert creds.identity_token == "refresh-xyz" and creds.username is None
    assert "refresh-xyz" not in repr(creds)


def test_describe_credentials_says_where_they_come_from(tmp_path):
    from dregtui.registry.credentials import describe_credentials

    config = _write_docker_config(
        tmp_path / "cfg", {"auths": {"reg.example": {"auth": base64.b64encode(b"u:p").decode()}}}
    )
    assert describe_credentials("https://reg.example", username="u", password="p") == (
        "command line/environment"
    )
    source = describe_credentials("https://reg.example", docker_config=str(config))
    assert source.startswith("docker config ") and "auths['reg.example']" in source
    assert describe_credentials("https://other.example", docker_config=str(config)) == "none"


def test_credentials_never_go_to_a_plain_http_realm_behind_an_https_registry(
    make_registry, token_issuer, tls_files
):
    """The token issuer is plain http; the registry https: the password would travel in
    clear text. Refused with one sentence, no request reaches the issuer; --insecure allows."""
    reg = make_registry(
        config=token_issuer.registry_config(), tls=(tls_files.server_cert, tls_files.server_key)
    )
    assert reg.url.startswith("https://")
    client = RegistryClient(reg.url, username=USER, password=PASSWORD, verify=tls_files.ca)
    with client as c, pytest.raises(AuthenticationError) as err:
        c.list_repositories()
    message = str(err.value)
    assert "a plain http address" in message and "unencrypted" in message
    assert "--insecure" in message and "\n" not in message
    assert token_issuer.count() == 0
    with RegistryClient(reg.url, username=USER, password=PASSWORD, verify=False) as c:
        assert c.list_repositories() == []
    assert token_issuer.count() >= 1
