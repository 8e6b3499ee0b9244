"""Environment settings (proxies, CA bundle) are honoured, and resolved once per origin."""

from __future__ import annotations

from support.fake_server import json_reply

from dregtui.registry import session
from dregtui.registry.client import RegistryClient


def test_proxy_from_environment_is_used(fake_registry, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", fake_registry.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    target = "http://registry.invalid:5000"
    fake_registry.route("GET", f"{target}/v2/", json_reply({}))
    fake_registry.route("GET", f"{target}/v2/app/tags/list", json_reply({"tags": ["1"]}))
    with RegistryClient(target, backoff=0.01) as c:
        c.ping()
        assert c.list_tags("app") == ["1"]
    assert [path for _, path, _ in fake_registry.requests] == [
        f"{target}/v2/",
        f"{target}/v2/app/tags/list?n=1000",
    ]


def test_no_proxy_bypasses_the_proxy(registry, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with RegistryClient(registry.url, retries=0) as c:
        c.ping()
        assert c.api_version == "registry/2.0"  # the registry answered
        assert c.list_repositories() == []


def test_a_dead_proxy_is_named_as_the_cause(registry, monkeypatch, run_cli):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy-user:proxy-pw@127.0.0.1:9")  # nothing there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    r = run_cli("-reg", registry.url, "-c", "None", "list-repo-names")
    assert r.code == 1
    assert r.err == (
        f"dregtui: error: Cannot reach the registry at {registry.url} through the proxy: the "
        "proxy refused the connection (check HTTPS_PROXY, HTTP_PROXY and NO_PROXY).\n"
    )  # it said the registry refused the connection (or that 127.0.0.1 does not resolve)


def test_environment_is_resolved_once_per_origin(registry, pusher, monkeypatch):
    pushed = pusher.image("env/app", "1")
    calls: list[str] = []
    real = session.get_environ_proxies

    def counting(url: str, no_proxy: str | None = None) -> dict[str, str]:
        calls.append(url)
        return real(url, no_proxy)

    monkeypatch.setattr(session, "get_environ_proxies", counting)
    with RegistryClient(registry.url) as c:
        for _ in range(30):
            assert c.head_manifest("env/app", "1").digest == pushed.digest
            assert c.list_tags("env/app") == ["1"]
    assert len(calls) == 1
