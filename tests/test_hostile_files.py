"""Issue 21 part 8: hostile local files and credential helpers.

A FIFO where a config, policy, docker config, journal, dates or TLS file should be never hangs a
command; a symlink to ``/dev/zero`` is a device, never read; a file over its bound is refused
before it is read whole; JSON or TOML nested 200,000 deep is "malformed", not a RecursionError; a
credential helper runs once, bounded in time and in what it may answer. Each is one sentence: an
error (exit 1) where the file was asked for, a warning where it is optional (docker's
config.json and its helpers), and the command goes on without it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dregtui.ops.dates import dates_path
from dregtui.registry import credentials
from dregtui.registry.client import RegistryClient
from dregtui.state.journal import Journal
from dregtui.state.userfiles import DOCKER_CONFIG_MAX, SETTINGS_MAX, UserFileError, read_user_file

DEEP = 200_000
BOUND = 10.0  # seconds any of these commands may take (a hang fails here, not at the timeout)


def bounded(run_cli: Callable[..., Any], *argv: str) -> Any:
    """``run_cli(*argv)`` in a thread: a command that hangs fails the test in BOUND seconds."""
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(r=run_cli(*argv)), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), f"{argv} hung"
    return box["r"]


def one_error(r: Any, *parts: str) -> str:
    assert r.code == 1, r
    (line,) = r.err.splitlines()
    assert line.startswith("dregtui: error: ") and "unexpected" not in line, line
    assert "Traceback" not in r.err and r.out == "", r
    for part in parts:
        assert part in line, line
    return str(line)


def hostile(tmp_path: Path, name: str, kind: str) -> Path:
    """A path named ``name`` that holds ``kind``: fifo, zero (symlink to /dev/zero), directory,
    large (one byte over its bound), deep-json or deep-toml (nested 200,000 deep)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    elif kind == "large":
        with path.open("wb") as handle:
            handle.truncate(DOCKER_CONFIG_MAX + 1)  # sparse; over every settings bound
    elif kind == "deep-json":
        path.write_text("[" * DEEP + "]" * DEEP)
    elif kind == "deep-toml":
        path.write_text("a = " + "[" * DEEP + "]" * DEEP + "\n")
    return path


SETTINGS_KINDS = {
    "fifo": "is a named pipe (FIFO), not a regular file",
    "zero": "is a character device, not a regular file",
    "directory": "is a directory, not a regular file",
    "large": f"is larger than {SETTINGS_MAX // 2**20} MiB",
    "deep-toml": "nested too deeply",
}


# -- dregtui's config file ----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "why"), SETTINGS_KINDS.items())
def test_a_hostile_config_file_is_one_sentence(run_cli, tmp_path, monkeypatch, kind, why) -> None:
    config = hostile(tmp_path, "config.toml", kind)
    argv = ("-reg", "http://127.0.0.1:1", "-c", "None", "list-repo-names")
    one_error(bounded(run_cli, "--config", str(config), *argv), str(config), why)
    monkeypatch.setenv("DREGTUI_CONFIG", str(config))
    one_error(bounded(run_cli, *argv), str(config), why)


def test_a_fifo_at_the_default_config_path_is_one_sentence(run_cli) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "dregtui" / "config.toml"
    hostile(config.parent, config.name, "fifo")
    r = bounded(run_cli, "-reg", "http://127.0.0.1:1", "-c", "None", "list-repo-names")
    one_error(r, str(config), "named pipe")
    # save-profile does not replace it either
    one_error(bounded(run_cli, "-reg", "http://127.0.0.1:1", "save-profile", "p"), "named pipe")
    assert config.is_fifo()


# -- policy files -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "why"), SETTINGS_KINDS.items())
def test_a_hostile_policy_file_is_one_sentence_before_any_request(
    fake_registry, run_cli, tmp_path, kind, why
) -> None:
    policy = hostile(tmp_path, "policy.toml", kind)
    for argv in (("policy", "check", str(policy)), ("prune", "--policy", str(policy))):
        one_error(
            bounded(run_cli, "-reg", fake_registry.url, "-c", "None", *argv), str(policy), why
        )
    assert fake_registry.requests == []


# -- docker's config.json: optional, so a warning and on without it ----------------------------


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("fifo", "is a named pipe (FIFO), not a regular file; ignoring it"),
        ("zero", "is a character device, not a regular file; ignoring it"),
        ("large", f"is larger than {DOCKER_CONFIG_MAX // 2**20} MiB; ignoring it"),
        ("deep-json", "is not valid JSON; ignoring it"),
    ],
)
def test_a_hostile_docker_config_is_one_warning(registry, pusher, run_cli, kind, why) -> None:
    pusher.image("app", "1.0", layers=0)
    config = hostile(Path(os.environ["DOCKER_CONFIG"]), "config.json", kind)
    r = bounded(run_cli, "-reg", registry.url, "-c", "None", "list-repo-names")
    assert r.code == 0 and r.lines == ["app"], r
    assert r.err.splitlines() == [f"dregtui: warning: the docker config {config} {why}"]


# -- credential helpers -------------------------------------------------------------------------


def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> Path:
    """``docker-credential-<name>`` on PATH running ``body`` (sh); each run appends a line to
    the returned file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    runs = tmp_path / f"{name}.runs"
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(f"#!/bin/sh\necho run >> '{runs}'\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return runs


def docker_config(doc: dict[str, Any]) -> None:
    directory = Path(os.environ["DOCKER_CONFIG"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(doc))


def test_a_hanging_credential_helper_runs_once_within_its_bound(
    registry, pusher, run_cli, tmp_path, monkeypatch
) -> None:
    pusher.image("app", "1.0", layers=0)
    monkeypatch.setattr(credentials, "HELPER_TIMEOUT", 0.5)
    runs = helper(tmp_path, monkeypatch, "hang", "exec sleep 60")
    host = registry.url.split("://")[1]
    # named for the host and as the store: without the bound it ran for host and https://host
    docker_config({"credHelpers": {host: "hang"}, "credsStore": "hang"})
    started = time.monotonic()
    r = bounded(run_cli, "-reg", registry.url, "-c", "None", "list-repo-names")
    assert time.monotonic() - started < 5.0
    assert r.code == 0 and r.lines == ["app"], r
    assert r.err.splitlines() == [
        "dregtui: warning: the credential helper docker-credential-hang did not answer within "
        "0.5 s (waiting for a passphrase?); continuing without its credentials"
    ]
    assert runs.read_text().splitlines() == ["run"]


def test_the_credential_helper_bound_is_ten_seconds() -> None:
    assert credentials.HELPER_TIMEOUT == 10.0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("cat /dev/zero", "answered more than 1 MiB"),
        (
            f'python3 -c \'print("[" * {DEEP} + "]" * {DEEP})\'',
            "answered something that is not JSON",
        ),
    ],
)
def test_a_flooding_or_deeply_nested_helper_answer_is_one_warning(
    registry, pusher, run_cli, tmp_path, monkeypatch, body, why
) -> None:
    pusher.image("app", "1.0", layers=0)
    runs = helper(tmp_path, monkeypatch, "odd", body)
    docker_config({"credsStore": "odd"})
    r = bounded(run_cli, "-reg", registry.url, "-c", "None", "list-repo-names")
    assert r.code == 0 and r.lines == ["app"], r
    assert r.err.splitlines() == [
        f"dregtui: warning: the credential helper docker-credential-odd {why}; "
        "continuing without its credentials"
    ]
    assert runs.read_text().splitlines() == ["run"]


# -- TLS files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "what"),
    [("-cert", "client certificate file"), ("-key", "client key file"), ("-v", "CA bundle")],
)
def test_a_fifo_for_a_tls_file_is_one_sentence(run_cli, tmp_path, option, what) -> None:
    fifo = hostile(tmp_path, "tls.pem", "fifo")
    argv = ["-reg", "https://127.0.0.1:1", "-c", "None", option, str(fifo)]
    if option == "-key":  # a key goes with a certificate (a regular file: checked later)
        (tmp_path / "cert.pem").write_text("not yet read\n")
        argv += ["-cert", str(tmp_path / "cert.pem")]
    r = bounded(run_cli, *argv, "list-repo-names")
    one_error(r, f"The {what} {fifo} is a named pipe (FIFO), not a regular file.")


# -- dregtui's own files: big, so no small bound, but never a wait ------------------------------


def test_a_fifo_for_the_journal_is_one_sentence_and_nothing_is_deleted(
    registry, pusher, run_cli
) -> None:
    pusher.image("app", "1.0", layers=0)
    pusher.image("app", "2.0", layers=0)
    journal = Journal().path
    hostile(journal.parent, journal.name, "fifo")
    r = bounded(run_cli, "-reg", registry.url, "restore", "--last")
    one_error(r, f"The journal {journal} is a named pipe (FIFO), not a regular file: move it away")
    r = bounded(run_cli, "-reg", registry.url, "-c", "None", "remove-tags", "-r", "app",
                "-t", "1.0", "--yes")  # fmt: skip
    assert r.code == 1 and "Cannot write the journal" in r.err, r
    with RegistryClient(registry.url) as client:
        assert sorted(client.list_tags("app")) == ["1.0", "2.0"]


def test_a_fifo_for_the_created_dates_is_passed_over(registry, pusher, run_cli) -> None:
    pusher.image("app", "1.0", layers=0, created="2020-01-01T00:00:00Z")
    pusher.image("app", "2.0", layers=0, created="2099-01-01T00:00:00Z")
    dates = dates_path(registry.url)
    hostile(dates.parent, dates.name, "fifo")
    r = bounded(run_cli, "-reg", registry.url, "--json", "query-tags", "-r", "app",
                "--older-than", "30d")  # fmt: skip
    assert r.code == 0, r
    assert [item["tags"] for item in json.loads(r.out)["items"]] == [["1.0"]]


# -- the helper itself --------------------------------------------------------------------------


def test_read_user_file_bounds_a_file_whose_size_lies(tmp_path) -> None:
    """/proc files say size 0: the bound holds on what is read, not on what stat says."""
    with pytest.raises(UserFileError, match="is larger than 16 bytes"):
        read_user_file("/proc/self/maps", "test file", 16)
    assert read_user_file(tmp_path / "missing", "test file", 16) is None
    (tmp_path / "ok").write_bytes(b"x" * 16)
    assert read_user_file(tmp_path / "ok", "test file", 16) == b"x" * 16
    assert read_user_file(tmp_path / "ok", "test file", None) == b"x" * 16
