"""A local S3 server (moto) and a real registry whose storage is a bucket on it.

Fixtures (import them into the test module that uses them):

- ``s3_server``: module scope; ``python -m moto.server`` on a free loopback port, in a process
  of its own, stopped at teardown. Skips (with the reason) when moto is not installed:
  ``pip install 'moto[server]'`` (the dev extras have it).
- ``s3_registry``: a fresh bucket on that server and ``docker-registry`` started on it with
  distribution's ``s3`` driver (no filesystem section), deletion enabled, stopped after the
  test. ``.bucket``, ``.config`` (the registry's config.yml, for ``--registry-config``) and
  ``.s3`` (a boto3 client on the server) go with it.
- ``s3_env``: the AWS_* variables that point boto3 (and so ``s3://BUCKET``) at the server.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from dregtui.demo.server import LocalRegistry, _die_with_parent, free_port

ACCESS_KEY = "dregtui-test"
SECRET_KEY = "dregtui-test-secret"
REGION = "us-east-1"
ROOT = "registry"  # the registry's storage.s3.rootdirectory, without its slash
START_TIMEOUT = 30.0
_buckets = itertools.count()


@dataclass
class S3Server:
    """A moto server: its endpoint, and a boto3 client on it."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self, **options: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=options.get("accesskey", ACCESS_KEY),
            aws_secret_access_key=options.get("secretkey", SECRET_KEY),
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
        )

    def iam(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def enforce_auth(self) -> None:
        """From now on moto checks every request's keys and policies against its IAM (for
        the rest of this server's life: start one of its own for that)."""
        requests.post(self.endpoint + "/moto-api/reset-auth", data=b"0", timeout=5)

    @property
    def env(self) -> dict[str, str]:
        """The environment that points boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }


@dataclass
class S3Registry:
    """A registry process whose storage is ``bucket`` on ``server``."""

    registry: LocalRegistry
    server: S3Server
    bucket: str
    s3: Any  # a boto3 client on the server

    @property
    def url(self) -> str:
        return self.registry.url

    @property
    def config(self) -> Path:
        """The registry's config.yml: what ``--registry-config`` is given."""
        assert self.registry.workdir is not None
        return self.registry.workdir / "config.yml"

    def objects(self) -> dict[str, tuple[int, str]]:
        """Every object of the bucket: key -> (size, ETag)."""
        found: dict[str, tuple[int, str]] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", ()):
                found[item["Key"]] = (int(item["Size"]), str(item["ETag"]))
        return found


def _moto_missing() -> str | None:
    for module in ("moto", "boto3", "flask", "werkzeug"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install 'moto[server]' (the dev extras)"
    return None


@contextmanager
def start_s3_server(workdir: Path) -> Iterator[S3Server]:
    """A moto server in a process of its own on a free loopback port, stopped on leaving."""
    port = free_port()
    log_path = workdir / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            # as the registry's: SIGTERM when this process dies (only from the main thread)
            preexec_fn=_die_with_parent
            if threading.current_thread() is threading.main_thread()
            else None,
        )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_it_answers(server, log_path)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    missing = _moto_missing()
    if missing:
        pytest.skip(missing)
    with start_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


def _wait_until_it_answers(server: S3Server, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                "the moto server exited at start: " + log_path.read_text(errors="replace")[-2000:]
            )
        try:
            requests.get(server.endpoint + "/moto-api/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the moto server did not answer within {START_TIMEOUT:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def new_bucket(server: S3Server, prefix: str = "registry") -> str:
    """A fresh, empty bucket on the server: its name."""
    name = f"dregtui-{prefix}-{os.getpid()}-{next(_buckets)}"
    server.client().create_bucket(Bucket=name)
    return name


def registry_config(server: S3Server, bucket: str) -> dict[str, Any]:
    """LocalRegistry's config for distribution's s3 driver on ``bucket`` (no filesystem)."""
    return {
        "storage": {
            "filesystem": None,
            "s3": {
                "accesskey": ACCESS_KEY,
                "secretkey": SECRET_KEY,
                "region": REGION,
                "regionendpoint": server.endpoint,
                "bucket": bucket,
                "secure": False,
                "v4auth": True,
                "rootdirectory": "/" + ROOT,
            },
            "redirect": {"disable": True},
            "delete": {"enabled": True},
        }
    }


@pytest.fixture
def s3_registry(s3_server: S3Server) -> Iterator[S3Registry]:
    bucket = new_bucket(s3_server)
    # distribution's s3 driver refuses an AWS_CA_BUNDLE it cannot use for plain HTTP
    # ("unable to load custom CA bundle"), and must not take AWS_* meant for dregtui
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
    registry = LocalRegistry(config=registry_config(s3_server, bucket), env=unset)
    registry.start()
    try:
        yield S3Registry(registry, s3_server, bucket, s3_server.client())
    finally:
        registry.cleanup()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The AWS way pointed at the server (and nothing else of the machine's AWS settings)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return s3_server.env
