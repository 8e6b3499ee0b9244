"""Where credentials come from: explicit arguments, else the docker client's config.

Order (the first that yields credentials wins):

1. explicit ``username``/``password`` (the CLI maps ``-u``/``-p`` and ``REGISTRY_USER``/
   ``REGISTRY_PASSWORD`` onto them);
2. ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``):
   ``credHelpers[host]``, then ``credsStore`` (both run ``docker-credential-<name> get``
   with the server on stdin), then ``auths[key]`` with ``auth`` (base64 ``user:pass``),
   ``username``/``password`` or ``identitytoken``. Keys may be bare hosts, ``host:port``
   or URLs such as ``https://host/v1/``.

:attr:`Credentials.source` says where they came from (for ``--debug``); secrets never
appear in ``repr`` or logs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dregtui.core.documents import loads_json
from dregtui.state.userfiles import DOCKER_CONFIG_MAX, MiB, UserFileError, read_user_file, size_text

log = logging.getLogger("dregtui.registry")

HELPER_TIMEOUT = 10.0  # seconds a credential helper may take, once per run
HELPER_ANSWER_MAX = 1 * MiB  # bytes of a helper's answer (a few hundred in practice)
IDENTITY_TOKEN_USER = "<token>"
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_KEY = "https://index.docker.io/v1/"

# helpers not installed, or that hung: warned about once and not run again in this run
_not_run_again: set[str] = set()  # (see reset_helper_warnings)
_not_run_lock = threading.Lock()


def reset_helper_warnings() -> None:
    """Start a new run: a missing (or hung) credential helper is tried and warned about again
    (the CLI calls it)."""
    with _not_run_lock:
        _not_run_again.clear()


def _warn_missing_helper(program: str) -> None:
    with _not_run_lock:
        if program in _not_run_again:
            return
        _not_run_again.add(program)
    log.warning("%s is not installed; continuing without its credentials", program)


def _give_up_on_helper(program: str, why: str) -> None:
    """A helper that hung, flooded us or answered garbage is not run again in this run (its
    next answer would be the same); said once."""
    with _not_run_lock:
        if program in _not_run_again:
            return
        _not_run_again.add(program)
    log.warning("the credential helper %s %s; continuing without its credentials", program, why)


@dataclass(frozen=True)
class Credentials:
    """A user name with a password, or an identity (refresh) token, or nothing."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = "none"

    @property
    def present(self) -> bool:
        return bool(self.username is not None or self.identity_token)

    @property
    def basic(self) -> tuple[str, str] | None:
        """(user, password) for HTTP Basic; an identity token alone is sent as the password
        of the ``<token>`` user, as the docker client does."""
        if self.username is not None and self.password is not None:
            return self.username, self.password
        if self.identity_token:
            return self.username or IDENTITY_TOKEN_USER, self.identity_token
        if self.username is not None:
            return self.username, ""
        return None


def registry_host(registry_url: str) -> str:
    """``https://Host:5000/x`` -> ``host:5000`` (the key docker uses)."""
    parts = urlsplit(registry_url if "://" in registry_url else "//" + registry_url)
    host = (parts.hostname or "").lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    return host


def _key_host(key: str) -> str:
    return registry_host(key.strip())


def docker_config_path(docker_config: str | os.PathLike[str] | None = None) -> Path:
    """The config.json to read: an explicit file or directory, else $DOCKER_CONFIG, else ~/.docker."""
    if docker_config:
        path = Path(docker_config).expanduser()
        return path / "config.json" if path.is_dir() or path.suffix != ".json" else path
    env = os.environ.get("DOCKER_CONFIG")
    base = Path(env).expanduser() if env else Path.home() / ".docker"
    return base / "config.json"


def load_docker_config(path: Path) -> dict[str, Any]:
    """The docker config as a dict; {} (and one warning) when it cannot be used: it is
    optional, so a FIFO, device, file over DOCKER_CONFIG_MAX or bad JSON is skipped."""
    try:
        data = read_user_file(path, "docker config", DOCKER_CONFIG_MAX)
    except UserFileError as exc:
        log.warning("the docker config %s %s; ignoring it", path, exc.problem)
        return {}
    if data is None:
        return {}
    try:
        doc = loads_json(data.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError too
        log.warning("the docker config %s is not valid JSON; ignoring it", path)
        return {}
    return doc if isinstance(doc, dict) else {}


class _HelperTimeout(Exception):
    pass


class _HelperTooChatty(Exception):
    pass


def _run_helper(program: str, server: str) -> tuple[int, bytes]:
    """(exit code, standard output) of ``program get``, its output read up to
    HELPER_ANSWER_MAX and its run bounded by HELPER_TIMEOUT; the helper (its whole process
    group: what it started too) is killed past either."""
    proc = subprocess.Popen(
        [program, "get"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed whole
    )
    assert proc.stdin is not None and proc.stdout is not None
    out: list[bytes] = []
    stdout = proc.stdout

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            out.append(stdout.read(HELPER_ANSWER_MAX + 1))

    reader = threading.Thread(target=read, name=f"dregtui-{program}", daemon=True)
    reader.start()
    try:
        with contextlib.suppress(BrokenPipeError):  # a helper that does not read its stdin
            proc.stdin.write(server.encode())
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        reader.join(HELPER_TIMEOUT)
        if reader.is_alive():
            raise _HelperTimeout
        answer = b"".join(out)
        if len(answer) > HELPER_ANSWER_MAX:
            raise _HelperTooChatty
        try:
            code = proc.wait(max(0.1, HELPER_TIMEOUT / 10))  # output closed: it is ending
        except subprocess.TimeoutExpired:
            raise _HelperTimeout from None
        return code, answer
    finally:
        if proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(1.0)
        reader.join(1.0)
        if not reader.is_alive():  # else a grandchild holds the pipe: the daemon thread stays
            with contextlib.suppress(OSError):
                stdout.close()


def run_credential_helper(name: str, server: str) -> Credentials | None:
    """``docker-credential-<name> get`` with ``server`` on stdin; None when it has nothing.

    Run at most HELPER_TIMEOUT seconds; a helper that hung, or answered more than
    HELPER_ANSWER_MAX or not JSON, is not run again in this run (one warning naming it), nor
    is one that is not installed."""
    program = f"docker-credential-{name}"
    with _not_run_lock:
        if program in _not_run_again:
            return None
    try:
        code, answer = _run_helper(program, server)
    except FileNotFoundError:
        _warn_missing_helper(program)
        return None
    except _HelperTimeout:
        _give_up_on_helper(
            program, f"did not answer within {HELPER_TIMEOUT:g} s (waiting for a passphrase?)"
        )
        return None
    except _HelperTooChatty:
        _give_up_on_helper(program, f"answered more than {size_text(HELPER_ANSWER_MAX)}")
        return None
    except OSError as exc:
        log.warning("the credential helper %s failed: %s", program, exc.strerror or exc)
        return None
    if code != 0:
        log.debug("credential helper %s has no credentials for %s", program, server)
        return None
    try:
        doc = loads_json(answer.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and nesting too deep too
        _give_up_on_helper(program, "answered something that is not JSON")
        return None
    if not isinstance(doc, dict):
        return None
    user = doc.get("Username")
    secret = doc.get("Secret")
    if not isinstance(secret, str) or not secret:
        return None
    source = f"credential helper {program}"
    if user == IDENTITY_TOKEN_USER:
        return Credentials(identity_token=secret, source=source)
    return Credentials(username=str(user or ""), password=secret, source=source)


def _helper_servers(host: str) -> list[str]:
    if host in DOCKER_HUB_HOSTS:
        return [DOCKER_HUB_KEY]
    return [host, f"https://{host}"]


def _from_auths(auths: Any, host: str, path: Path) -> Credentials | None:
    if not isinstance(auths, dict):
        return None
    wanted = {host} | ({"index.docker.io"} if host in DOCKER_HUB_HOSTS else set())
    for key, entry in auths.items():
        if not isinstance(key, str) or not isinstance(entry, dict) or _key_host(key) not in wanted:
            continue
        source = f"docker config {path} (auths[{key!r}])"
        user, password = None, None
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                decoded = base64.b64decode(encoded.strip() + "===", validate=False).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                log.warning("the auth entry for %s in %s is not valid base64", key, path)
                decoded = ""
            if ":" in decoded:
                user, password = decoded.split(":", 1)
        if user is None and isinstance(entry.get("username"), str):
            user = entry["username"]
            password = entry.get("password") if isinstance(entry.get("password"), str) else ""
        token = entry.get("identitytoken")
        if isinstance(token, str) and token:
            return Credentials(username=user or None, identity_token=token, source=source)
        if user is not None:
            return Credentials(username=user, password=password or "", source=source)
    return None


def resolve_credentials(
    registry_url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    docker_config: str | os.PathLike[str] | None = None,
) -> Credentials:
    """The credentials to use for ``registry_url``; ``Credentials()`` (source "none") if none."""
    if username or password:  # empty strings (unset options) do not count
        source = "command line/environment"
        if not password:
            source += ", no password given"
        elif not username:
            source += ", no user name given"
        return Credentials(username=username or "", password=password or "", source=source)
    host = registry_host(registry_url)
    path = docker_config_path(docker_config)
    config = load_docker_config(path)
    if not config:
        return Credentials()
    helpers = config.get("credHelpers")
    helper = None
    if isinstance(helpers, dict):
        helper = helpers.get(host) or next(
            (
                name
                for key, name in helpers.items()
                if isinstance(key, str) and _key_host(key) == host
            ),
            None,
        )
    if isinstance(helper, str) and helper:
        for server in _helper_servers(host):
            found = run_credential_helper(helper, server)
            if found:
                return found
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        for server in _helper_servers(host):
            found = run_credential_helper(store, server)
            if found:
                return found
    return _from_auths(config.get("auths"), host, path) or Credentials()


def describe_credentials(
    registry_url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    docker_config: str | os.PathLike[str] | None = None,
) -> str:
    """Where credentials for ``registry_url`` would come from, e.g. for ``--debug`` logs."""
    return resolve_credentials(
        registry_url, username=username, password=password, docker_config=docker_config
    ).source
