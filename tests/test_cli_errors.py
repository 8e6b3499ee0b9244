"""Bad input through the CLI: one clear sentence on stderr, exit 1, nothing written half-way."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from support.httpserver import LoopbackServer

from dregtui.demo.server import free_port
from dregtui.state.cache import cache_name, default_cache_dir


def assert_one_line_error(result, *needles: str) -> None:
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith("dregtui: error: ")
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle.lower() in result.err.lower(), result.err


def no_cache_files() -> bool:
    directory = default_cache_dir()
    return not directory.exists() or not any(directory.iterdir())


class HtmlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_site() -> Iterator[LoopbackServer]:
    server = LoopbackServer(HtmlHandler).start()
    yield server
    server.stop()


def test_no_registry_given(run_cli):
    result = run_cli("list-repo-names")
    assert_one_line_error(result, "-reg", "REGISTRY", "profile")
    assert no_cache_files()


def test_unreachable_host(run_cli):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("-reg", url, "list-tag-names")
    assert_one_line_error(result, "127.0.0.1")
    assert no_cache_files()


def test_url_that_is_not_a_registry(html_site, run_cli):
    result = run_cli("-reg", html_site.url, "list-repo-names")
    assert_one_line_error(result, "registry")
    assert no_cache_files()


def test_wrong_credentials(htpasswd_registry, run_cli):
    url = htpasswd_registry.url
    result = run_cli("-reg", url, "-u", "alice", "-p", "not-the-password", "list-repo-names")
    assert_one_line_error(result)
    assert "not-the-password" not in result.err
    assert no_cache_files()
    ok = run_cli("-reg", url, "-u", "alice", "-p", "wonderland", "list-repo-names")
    assert ok.code == 0, ok
    cache = (default_cache_dir() / cache_name(url)).read_text()
    assert "wonderland" not in cache and "alice" not in cache


def test_tls_failures(tls_registry, run_cli, tmp_path):
    files = tls_registry.tls
    url = tls_registry.url
    # unknown CA (system trust store does not know the test CA)
    assert_one_line_error(run_cli("-reg", url, "list-repo-names"))
    # missing client certificate
    assert_one_line_error(run_cli("-reg", url, "-v", files.ca, "list-repo-names"), "certificate")
    # unreadable certificate file
    missing = str(tmp_path / "nope.pem")
    result = run_cli("-reg", url, "-v", files.ca, "-cert", missing, "list-repo-names")
    assert_one_line_error(result, "nope.pem")
    # CA bundle that does not exist
    result = run_cli("-reg", url, "-v", str(tmp_path / "ca.pem"), "list-repo-names")
    assert_one_line_error(result, "ca.pem")
    # and all of it right
    result = run_cli(
        "-reg", url, "-v", files.ca, "-cert", files.client_cert, "-key", files.client_key,
        "-c", "None", "list-repo-names",
    )  # fmt: skip
    assert result.code == 0, result
    assert no_cache_files()


@pytest.mark.parametrize(
    "argv",
    [
        ["-reg", "http://x", "no-such-command"],
        ["-reg", "http://x", "-j", "zero", "list-repo-names"],
        ["-reg", "http://x", "--rate", "-1", "list-repo-names"],
        ["-reg", "http://x", "list-repo-names", "--no-such-option"],
        ["-reg", "http://x", "-l", "loud", "list-repo-names"],
        ["--no-such-global"],
    ],
)
def test_usage_errors_exit_1_with_one_line(run_cli, argv):
    assert_one_line_error(run_cli(*argv))


def test_debug_shows_the_traceback(run_cli):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("-reg", url, "--debug", "list-repo-names")
    assert result.code == 1
    assert "Traceback" in result.err
    assert result.err.splitlines()[-1].startswith("dregtui: error: ")


def test_hostile_repository_names_in_errors_stay_one_line(small_registry, run_cli):
    result = run_cli("-reg", small_registry.url, "-c", "None", "list-tag-names", "a\nb\x1b[31m")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "\x1b" not in result.err


def test_progress_line_only_on_a_terminal(small_registry, tmp_path: Path):
    import io

    from dregtui.cli.main import main

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err, out = Tty(), io.StringIO()
    assert main(["-reg", small_registry.url, "list-repo-names"], stdout=out, stderr=err) == 0
    text = err.getvalue()
    assert "scanning:" in text and "repositories" in text and "tags/s" in text
    assert text.endswith("\r\x1b[K")  # cleared at the end
    assert len(out.getvalue().splitlines()) == 12


def test_python_dash_m_exit_code_and_single_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY")}
    proc = subprocess.run(
        [sys.executable, "-m", "dregtui", "list-repo-names"],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("dregtui: error: No registry")


def test_malformed_answers_mid_scan_are_one_line_and_leave_no_cache(fake_registry, run_cli):
    from support.fake_server import Reply, json_reply

    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": ["ok", "broken"]}))
    fake_registry.route("GET", "/v2/ok/tags/list", json_reply({"name": "ok", "tags": None}))
    fake_registry.route(
        "GET",
        "/v2/broken/tags/list",
        Reply(200, "{not json\x1b[2J", {"Content-Type": "application/json"}),
    )
    result = run_cli("-reg", fake_registry.url, "list-repo-names")
    assert_one_line_error(result)
    assert "\x1b" not in result.err
    assert no_cache_files()


def test_debug_logging_never_shows_the_password(htpasswd_registry, run_cli):
    url = htpasswd_registry.url
    result = run_cli(
        "-reg",
        url,
        "-u",
        "alice",
        "-p",
        "wonderland",
        "-l",
        "debug",
        "-c",
        "None",
        "list-repo-names",
    )
    assert result.code == 0, result
    assert "wonderland" not in result.err
    bad = run_cli("-reg", url, "-u", "alice", "-p", "wrong-pass-77", "--debug", "list-repo-names")
    assert bad.code == 1
    assert "wrong-pass-77" not in bad.err


def test_a_cache_path_too_long_for_the_file_system_is_one_sentence(
    fake_registry, run_cli, tmp_path
):
    path = tmp_path / ("c" * 300)
    result = run_cli("-reg", fake_registry.url, "-c", str(path), "list-repo-names")
    assert_one_line_error(result, f"The cache path {path} cannot be used", "too long", "-c None")
    assert fake_registry.requests == []


def test_a_cache_file_name_near_the_limit_is_still_written(small_registry, run_cli, tmp_path):
    """255 characters is a file name's limit; the temp file beside it must not pass it."""
    path = tmp_path / ("c" * 250)
    result = run_cli("-reg", small_registry.url, "-c", str(path), "list-repo-names")
    assert result.code == 0 and result.err == "", result
    assert path.stat().st_size > 0


@pytest.mark.parametrize("option", ["-t", "-x"])
def test_a_version_selector_with_thousands_of_digits_is_one_sentence(run_cli, option):
    huge = "<" + "1" * 5000
    argv = ["-t", "a"] if option == "-x" else []
    result = run_cli("-reg", "http://127.0.0.1:1", "query-tags", "-r", "a", *argv, option, huge)
    assert_one_line_error(result, f"{option} '<111", "5,000 characters", "128")
    assert len(result.err) < 200


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("a" * 64 + ".example:5000", "a" * 64 + ".example"),
        ("a..example", "a..example"),
        ("a." * 130 + "com", "a.a.a."),
    ],
)
def test_a_host_no_connection_can_be_made_to_is_one_sentence(run_cli, host, shown):
    for url in (host, f"http://{host}"):
        result = run_cli("-reg", url, "-c", "None", "list-repo-names")
        assert_one_line_error(result, f"The registry host '{shown}", "not a valid host name")
