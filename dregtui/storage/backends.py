"""Where a registry keeps its files, read-only: a directory (distribution's ``filesystem``
driver) or an S3 bucket (its ``s3`` driver), behind one small interface.

Keys are paths below the storage root, ``/``-separated, as distribution writes them:
``docker/registry/v2/repositories/<name>/_manifests/...``, ``docker/registry/v2/blobs/...``.
Nothing here writes, deletes or moves anything: the only calls are listings and reads.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dregtui.core.errors import StorageError

V2 = "docker/registry/v2"  # below the storage root: blobs/ and repositories/
READERS = 16  # files read at once (S3 GETs, or files on a filesystem)
READ_BATCH = 128  # files a reader thread takes at once from a filesystem
PERMISSION_HINT = (
    "a registry's files usually belong to root or to the container's user: run dregtui as "
    "that user (or with sudo), or give it read access"
)


Shape = Mapping[str, "Shape | None"]  # FileStorage.layout_files: the folders and files to see


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of the storage: its key below the root, its size and when it was last written
    (seconds since the epoch)."""

    key: str
    size: int
    modified: float


class Storage(Protocol):
    """A registry's storage, read-only."""

    description: str  # as the user gave it: a path, or s3://bucket/prefix

    def files(self, prefix: str) -> Iterator[StoredFile]:
        """Every file whose key starts with ``prefix`` (a folder: ends with ``/``)."""
        ...

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders directly below ``prefix``."""
        ...

    def read(self, keys: Sequence[str], limit: int) -> list[bytes | None]:
        """The contents of ``keys`` (None for one that is gone), each at most ``limit``
        bytes (StorageError for a larger one)."""
        ...

    def close(self) -> None: ...


class FileStorage:
    """A registry's ``rootdirectory`` on this machine's filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)
        self._pool = ThreadPoolExecutor(READERS, thread_name_prefix="dregtui-storage")

    def _path(self, key: str) -> Path:
        return self.root / key

    def folders(self, prefix: str) -> list[str]:
        try:
            with os.scandir(self._path(prefix)) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return []
        except PermissionError as exc:
            raise _denied(self._path(prefix)) from exc

    def files(self, prefix: str) -> Iterator[StoredFile]:
        top = self._path(prefix)
        base = len(str(self.root)) + 1
        stack = [str(top)]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            except PermissionError as exc:
                raise _denied(Path(folder)) from exc
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    yield StoredFile(entry.path[base:], info.st_size, info.st_mtime)

    def layout_files(self, prefix: str, shape: Shape) -> Iterator[StoredFile]:
        """The regular files below ``prefix`` (a folder) along ``shape``, opening only the
        folders a ``*`` stands for: ``files()`` for a known layout, without opening each
        folder on the way (a repository's link files sit one to a folder).

        ``shape`` maps a name to what is below it: a further shape for a folder, ``None``
        for a file; the name ``*`` stands for every folder there. A folder or file that is
        a symbolic link is skipped, as ``files()`` skips it."""
        base = len(str(self.root)) + 1
        pending: list[tuple[str, Shape]] = [(str(self._path(prefix)).rstrip("/"), shape)]
        while pending:
            folder, below = pending.pop()
            for name, inner in below.items():
                if name == "*":
                    if inner is not None:  # "*" names folders only
                        pending.extend((p, inner) for p in self._subfolders(folder))
                    continue
                path = f"{folder}/{name}"
                info = self._lstat(path)
                if info is None:
                    continue
                if inner is None:
                    if stat.S_ISREG(info.st_mode):
                        yield StoredFile(path[base:], info.st_size, info.st_mtime)
                elif stat.S_ISDIR(info.st_mode):
                    pending.append((path, inner))

    def _subfolders(self, folder: str) -> list[str]:
        try:
            with os.scandir(folder) as entries:
                return [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except PermissionError as exc:
            raise _denied(Path(folder)) from exc

    @staticmethod
    def _lstat(path: str) -> os.stat_result | None:
        try:
            return os.stat(path, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError as exc:
            raise _denied(Path(path)) from exc

    def read(self, keys: Sequence[str], limit: int) -> list[bytes | None]:
        # in batches: a file in the page cache reads in microseconds, less than handing it to
        # a thread (100,000 manifests: 2.7 s in batches, 7-9 s one by one, 2.0 s in one
        # thread); the threads are for a cold disk
        size = max(1, min(READ_BATCH, -(-len(keys) // READERS)))
        batches = [keys[n : n + size] for n in range(0, len(keys), size)]
        read = self._pool.map(lambda batch: [self._read_one(k, limit) for k in batch], batches)
        return [data for batch in read for data in batch]

    def _read_one(self, key: str, limit: int) -> bytes | None:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise _denied(path) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError(f"{path} is a symbolic link; not following it.") from None
            raise StorageError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise StorageError(f"{path} is not a regular file.")
            if info.st_size > limit:
                raise StorageError(f"{path} is larger than {limit} bytes; not reading it.")
            data = _read_file(fd, info.st_size, limit)
        finally:
            os.close(fd)
        if len(data) > limit:
            raise StorageError(f"{path} is larger than {limit} bytes; not reading it.")
        return data

    def close(self) -> None:
        self._pool.shutdown(wait=False)


class S3Storage:
    """A registry's bucket (and ``rootdirectory`` prefix) on S3 or an S3-compatible server.

    The endpoint, region and keys come the AWS way (``AWS_ENDPOINT_URL``, ``AWS_REGION``,
    ``AWS_ACCESS_KEY_ID``..., ``~/.aws``) unless the registry's config gave them. Listings of
    the blobs run in parallel by their two-hex-digit folders, those of the repositories by
    repository."""

    def __init__(self, bucket: str, prefix: str, client: Any, description: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.description = description
        self._pool = ThreadPoolExecutor(READERS, thread_name_prefix="dregtui-s3")

    def folders(self, prefix: str) -> list[str]:
        names: list[str] = []
        full = self.prefix + prefix
        for page in self._pages(full, delimiter="/"):
            for common in page.get("CommonPrefixes", ()):
                name = common["Prefix"][len(full) :].rstrip("/")
                if name:
                    names.append(name)
        return sorted(names)

    def files(self, prefix: str) -> Iterator[StoredFile]:
        cut = len(self.prefix)
        for page in self._pages(self.prefix + prefix):
            for item in page.get("Contents", ()):
                yield StoredFile(
                    item["Key"][cut:], int(item["Size"]), item["LastModified"].timestamp()
                )

    def _pages(self, prefix: str, delimiter: str | None = None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(**kwargs)
        except Exception as exc:  # botocore's errors: one sentence
            raise s3_error(exc, self.description) from None

    def read(self, keys: Sequence[str], limit: int) -> list[bytes | None]:
        return list(self._pool.map(lambda key: self._read_one(key, limit), keys))

    def _read_one(self, key: str, limit: int) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except Exception as exc:
            if _s3_code(exc) in ("NoSuchKey", "404"):
                return None
            raise s3_error(exc, self.description) from None
        length = answer.get("ContentLength")
        if isinstance(length, int) and length > limit:
            answer["Body"].close()
            raise StorageError(f"{self.description}/{key} is larger than {limit} bytes.")
        # read by the length S3 gave (a buffer of the limit for each small link or manifest
        # costs its zeroing, or a memory mapping each): one byte more to see a longer body
        want = length + 1 if isinstance(length, int) else limit + 1
        data: bytes = answer["Body"].read(min(want, limit + 1))
        if isinstance(length, int) and len(data) > length:
            data += answer["Body"].read(limit + 1 - len(data))
        if len(data) > limit:
            raise StorageError(f"{self.description}/{key} is larger than {limit} bytes.")
        return data

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def _read_file(fd: int, size: int, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of an open regular file that ``fstat`` said holds ``size``.

    Reads ``size + 1`` bytes at once rather than ``limit + 1``: a buffer of the limit (4 MiB
    for a manifest) for each of a hundred thousand small files costs a memory mapping per
    file left behind (glibc shrinks it in place), and past ``vm.max_map_count`` (65,530)
    the process can allocate nothing more (MemoryError, no new thread)."""
    data = os.read(fd, size + 1)
    if len(data) == size:
        return data  # the whole file, as fstat said
    chunks = [data]  # it changed since: read on to its end or past the limit
    total = len(data)
    while total <= limit:
        chunk = os.read(fd, min(1 << 16, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _s3_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def s3_error(exc: Exception, where: str) -> StorageError:
    """One sentence for a failure of an S3 call."""
    code = _s3_code(exc)
    if code in ("NoSuchBucket",):
        return StorageError(f"The bucket of {where} does not exist.")
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return StorageError(
            f"S3 denied reading {where} ({code}): check the access key and the bucket's "
            "policy (dregtui needs s3:ListBucket and s3:GetObject)."
        )
    name = type(exc).__name__
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return StorageError(f"The S3 endpoint of {where} did not answer ({exc}).")
    if name == "NoCredentialsError":
        return StorageError(
            f"No S3 credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or give the registry's config with --registry-config."
        )
    return StorageError(f"Reading {where} failed: {code or name}: {exc}.")


def _denied(path: Path) -> StorageError:
    return StorageError(f"Cannot read {path}: permission denied; {PERMISSION_HINT}.")
