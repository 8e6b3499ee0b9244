"""Open a registry's storage from what the user gives: a directory, ``s3://BUCKET[/PREFIX]``,
or the registry's own ``config.yml`` (``--registry-config``, with distribution's
``REGISTRY_STORAGE_*`` environment overrides). Each wrong guess is one sentence that says
where the registry root is, when it can tell."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dregtui.core.errors import StorageError
from dregtui.storage.backends import PERMISSION_HINT, V2, FileStorage, S3Storage, Storage

CONFIG_MAX = 1024 * 1024  # bytes of a registry config.yml at most
# An endpoint that is down or silent fails in seconds, not minutes: a listing page or a link
# takes S3 well under a second, and each attempt waits at most these (botocore's default
# timeouts are 60 s each).
S3_ATTEMPTS = 3  # tries of one request, with the standard mode's backoff between them
S3_CONNECT_TIMEOUT = 5.0  # seconds
S3_READ_TIMEOUT = 10.0  # seconds without a byte of the answer
S3_HINT = "reading an S3 storage needs boto3: pip install 'dregtui[s3]' (or pip install boto3)"


@dataclass(frozen=True)
class StorageSpec:
    """Where a registry's storage is: a directory, or an S3 bucket with the options the
    registry's own config gave (endpoint, region, keys), each None when the AWS way decides."""

    path: str | None = None
    bucket: str | None = None
    prefix: str = ""
    s3: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def description(self) -> str:
        if self.bucket is None:
            return self.path or ""
        return f"s3://{self.bucket}/{self.prefix.strip('/')}".rstrip("/")


def parse_storage(text: str) -> StorageSpec:
    """``--storage`` as given: ``s3://BUCKET[/PREFIX]`` or a path."""
    text = text.strip()
    if text.startswith("s3://"):
        bucket, _, prefix = text[5:].partition("/")
        if not bucket:
            raise StorageError(f"{text!r} names no bucket: give s3://BUCKET[/PREFIX].")
        return StorageSpec(bucket=bucket, prefix=prefix)
    if not text:
        raise StorageError("--storage is empty: give the registry's root directory or s3://BUCKET.")
    return StorageSpec(path=os.path.expanduser(text))


def open_storage(spec: StorageSpec) -> Storage:
    """The storage ``spec`` names, checked to be a registry root (StorageError otherwise)."""
    if spec.bucket is not None:
        return _open_s3(spec)
    assert spec.path is not None
    return FileStorage(_registry_root(Path(spec.path)))


def _registry_root(path: Path) -> Path:
    try:
        if not path.exists():
            raise StorageError(f"The storage {path} does not exist.")
        if not path.is_dir():
            raise StorageError(f"The storage {path} is not a directory.")
        if (path / V2).is_dir():
            if not os.access(path / V2, os.R_OK | os.X_OK):
                raise StorageError(
                    f"Cannot read {path / V2}: permission denied; {PERMISSION_HINT}."
                )
            return path
        parts = path.resolve().parts
        for n in range(len(parts), 0, -1):
            if parts[n - 3 : n] == ("docker", "registry", "v2"):
                root = Path(*parts[: n - 3])
                raise StorageError(
                    f"{path} is inside a registry's storage, not its root: give {root} (the "
                    f"folder that holds {V2})."
                )
        for child in sorted(path.iterdir())[:200]:
            if child.is_dir() and (child / V2).is_dir():
                raise StorageError(
                    f"{path} is not a registry's storage root, but {child} is: give {child}."
                )
    except PermissionError:
        raise StorageError(f"Cannot read {path}: permission denied; {PERMISSION_HINT}.") from None
    raise StorageError(
        f"{path} is not a registry's storage root: it has no {V2} folder (give the "
        "registry's storage rootdirectory, e.g. /var/lib/registry)."
    )


def _open_s3(spec: StorageSpec) -> Storage:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StorageError(f"{spec.description}: {S3_HINT}.") from None
    options = {k: v for k, v in spec.s3.items() if v}
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=options.get("endpoint"),
        region_name=options.get("region"),
        aws_access_key_id=options.get("accesskey"),
        aws_secret_access_key=options.get("secretkey"),
        config=Config(
            retries={"max_attempts": S3_ATTEMPTS, "mode": "standard"},
            connect_timeout=S3_CONNECT_TIMEOUT,
            read_timeout=S3_READ_TIMEOUT,
            max_pool_connections=32,
        ),
    )
    storage = S3Storage(spec.bucket or "", spec.prefix, client, spec.description)
    if not storage.folders(V2 + "/"):
        if not storage.folders(""):
            raise StorageError(f"{spec.description} is empty: it holds no registry storage.")
        raise StorageError(
            f"{spec.description} holds no {V2} folder: check the bucket's rootdirectory "
            "prefix (the registry's storage.s3.rootdirectory)."
        )
    return storage


def from_registry_config(file: str, env: Mapping[str, str] | None = None) -> StorageSpec:
    """The storage a registry's ``config.yml`` names, with distribution's environment
    overrides (``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY``, ``REGISTRY_STORAGE_S3_BUCKET``
    ...) applied as the registry applies them."""
    import yaml

    from dregtui.state.userfiles import UserFileError, read_user_file

    env = os.environ if env is None else env
    try:
        raw = read_user_file(file, "registry config", CONFIG_MAX)
    except UserFileError as exc:
        raise StorageError(str(exc)) from None
    if raw is None:
        raise StorageError(f"The registry config {file} does not exist.")
    try:
        doc = yaml.safe_load(raw)
    except (yaml.YAMLError, RecursionError) as exc:
        raise StorageError(f"{file}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    storage: dict[str, Any] = {}
    if isinstance(doc, dict) and isinstance(doc.get("storage"), dict):
        storage = {str(k).lower(): v for k, v in doc["storage"].items()}
    for key, value in env.items():
        if key.startswith("REGISTRY_STORAGE_"):
            driver, _, option = key[len("REGISTRY_STORAGE_") :].lower().partition("_")
            if option:
                section = storage.get(driver)
                if not isinstance(section, dict):
                    section = storage[driver] = {}
                section[option] = value
            elif driver:
                storage[driver] = (
                    storage.get(driver) if isinstance(storage.get(driver), dict) else {}
                )
    if isinstance(storage.get("filesystem"), dict) or "filesystem" in storage:
        section = storage.get("filesystem") or {}
        root = section.get("rootdirectory") if isinstance(section, dict) else None
        return StorageSpec(path=str(root or "/var/lib/registry"))
    if isinstance(storage.get("s3"), dict):
        s3 = {str(k).lower(): v for k, v in storage["s3"].items()}
        if not s3.get("bucket"):
            raise StorageError(f"{file}: storage.s3 names no bucket.")
        endpoint = s3.get("regionendpoint")
        return StorageSpec(
            bucket=str(s3["bucket"]),
            prefix=str(s3.get("rootdirectory") or "").strip("/"),
            s3={
                "endpoint": str(endpoint) if endpoint else None,
                "region": str(s3["region"]) if s3.get("region") else None,
                "accesskey": str(s3["accesskey"]) if s3.get("accesskey") else None,
                "secretkey": str(s3["secretkey"]) if s3.get("secretkey") else None,
            },
        )
    drivers = [k for k in storage if k not in ("delete", "cache", "maintenance", "redirect")]
    raise StorageError(
        f"{file}: dregtui reads filesystem and s3 storage, not "
        f"{', '.join(drivers) or 'a config without a storage section'}."
    )
