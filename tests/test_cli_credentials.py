"""Credentials on the command line: the password prompt, missing credential helpers."""

from __future__ import annotations

import getpass
import io
import json
import os
import sys
from pathlib import Path

import pytest
from support.fixtures import PASSWORD, USER


class FakeStdin(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__("")
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def fake_getpass(prompt: str = "Password: ", stream: object = None) -> str:
        asked.append(prompt)
        return PASSWORD

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    return asked


def test_user_without_password_is_asked_on_a_terminal(
    htpasswd_registry, run_cli, prompts, monkeypatch, tmp_path
):
    monkeypatch.setattr(sys, "stdin", FakeStdin(tty=True))
    cache = tmp_path / "cache.json"
    r = run_cli("-reg", htpasswd_registry.url, "-c", str(cache), "-u", USER, "list-repo-names")
    assert r.code == 0, r
    host = htpasswd_registry.url.split("://")[1]
    assert prompts == [f"Password for {USER} at http://{host}: "]  # asked once
    assert PASSWORD not in r.out + r.err and PASSWORD not in cache.read_text()
    # a password given on the command line or in the environment is never asked for
    prompts.clear()
    url = htpasswd_registry.url
    r = run_cli("-reg", url, "-c", "None", "-u", USER, "-p", PASSWORD, "list-repo-names")
    assert r.code == 0, r
    r = run_cli(
        "-reg", htpasswd_registry.url, "-c", "None", "list-repo-names",
        env={"REGISTRY_USER": USER, "REGISTRY_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert r.code == 0, r
    assert prompts == []


def test_user_in_the_registry_url_without_password_is_asked_too(
    htpasswd_registry, run_cli, prompts, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", FakeStdin(tty=True))
    host = htpasswd_registry.url.split("://")[1]
    r = run_cli("-reg", f"http://{USER}@{host}", "-c", "None", "list-repo-names")
    assert r.code == 0, r
    assert prompts == [f"Password for {USER} at http://{host}: "]


def test_user_without_password_and_no_terminal_is_one_clear_error(
    htpasswd_registry, run_cli, prompts, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", FakeStdin(tty=False))
    r = run_cli("-reg", htpasswd_registry.url, "-c", "None", "-u", USER, "list-repo-names")
    assert r.code == 1 and "(from command line/environment, no password given)" in r.err, r
    assert len(r.err.splitlines()) == 1 and prompts == []


def test_a_missing_credential_helper_is_one_warning_per_run(registry, pusher, run_cli):
    pusher.image("app", "1.0")
    host = registry.url.split("://")[1]
    config = Path(os.environ["DOCKER_CONFIG"])
    config.mkdir(parents=True, exist_ok=True)
    doc = {"credHelpers": {host: "nothere"}, "credsStore": "alsomissing"}
    (config / "config.json").write_text(json.dumps(doc))
    for _ in range(2):  # each run says it again, once
        r = run_cli("-reg", registry.url, "-c", "None", "list-repo-names")
        assert r.code == 0 and r.lines == ["app"], r
        assert r.err.splitlines() == [
            "dregtui: warning: docker-credential-nothere is not installed; "
            "continuing without its credentials",
            "dregtui: warning: docker-credential-alsomissing is not installed; "
            "continuing without its credentials",
        ]
