"""Local files: reading the ones the user hands us (config, policy, docker's config.json,
journal, dates) with bounds, writing dregtui's own atomically, and the error a bad one raises.

Every read of a user file goes through :func:`read_user_file`: only a regular file is read (a
FIFO, device, socket or directory is one sentence, and a FIFO is never waited on), and never
more than the caller's limit (a symlink to ``/dev/zero`` is a device; a file that grows while
read is cut at the limit and refused). JSON and TOML nested deeper than the parser's stack are
:class:`ValueError` ("nested too deeply"), never ``RecursionError``: :func:`loads_json`,
:func:`loads_toml`.

No third-party imports and no other dregtui module: the inventory (cache), the settings (config),
the policy and the docker credentials all build on this, so none imports another for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
# Hand-written TOML (config.toml, a policy file): kilobytes in practice; tomllib parses 1 MiB
# in about half a second.
SETTINGS_MAX = 1 * MiB  # bytes
# docker's config.json (written by `docker login`: an entry of ~100 bytes per registry).
DOCKER_CONFIG_MAX = 4 * MiB  # bytes
_READ_CHUNK = 1 * MiB  # bytes a read() asks for

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class ConfigError(Exception):
    """The configuration (file, option or environment value) is unusable. One sentence."""


class UserFileError(ConfigError):
    """A local file that cannot be used: not a regular file, too large, unreadable.

    ``str()`` is one sentence (``The config file X is a named pipe (FIFO), not a regular
    file.``); ``problem`` is the part after the path, for callers that phrase their own
    (a warning that goes on without an optional file)."""

    def __init__(self, what: str, path: str | os.PathLike[str], problem: str) -> None:
        self.what = what
        self.path = str(path)
        self.problem = problem
        super().__init__(f"The {what} {self.path} {problem}.")


def file_kind(mode: int) -> str | None:
    """``a named pipe (FIFO)``, ``a directory``... for what is not a regular file, else None."""
    if stat.S_ISREG(mode):
        return None
    for test, what in _KINDS:
        if test(mode):
            return what
    return "not a regular file"


def size_text(n: int) -> str:
    """``1 MiB``, ``4 GiB``, ``512 KiB``: a limit as a message says it."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _problem(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "has a name too long for the file system"
    return f"cannot be read ({(exc.strerror or str(exc)).lower()})"


def require_regular_file(
    path: str | os.PathLike[str], what: str, *, directory_ok: bool = False
) -> None:
    """UserFileError unless ``path`` is a regular file (or, with ``directory_ok``, a
    directory); a missing file is left to the caller. Nothing is opened."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise UserFileError(what, path, _problem(exc)) from None
    kind = file_kind(info.st_mode)
    if kind is not None and not (directory_ok and stat.S_ISDIR(info.st_mode)):
        raise UserFileError(what, path, f"is {kind}, not a regular file")


def read_user_file(path: str | os.PathLike[str], what: str, limit: int | None) -> bytes | None:
    """The bytes of the regular file at ``path``; None when there is none. ``what`` names it
    in the one sentence of :class:`UserFileError`, raised for a directory, FIFO, device or
    socket (none is opened: stat first, then what was opened, without waiting, is checked
    again), an OSError
    (permissions, a name too long), or more than ``limit`` bytes (None: no limit, for
    dregtui's own big files; a device, the unbounded kind, is refused all the same)."""
    require_regular_file(path, what)  # a device is never opened: opening can have effects
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UserFileError(what, path, _problem(exc)) from None
    try:
        info = os.fstat(fd)  # what was opened: the path may have been swapped since stat
        kind = file_kind(info.st_mode)
        if kind is not None:
            raise UserFileError(what, path, f"is {kind}, not a regular file")
        if limit is not None and info.st_size > limit:
            raise UserFileError(what, path, f"is larger than {size_text(limit)}")
        os.set_blocking(fd, True)
        chunks = []
        size = 0
        want = info.st_size + 1  # the whole file in one read, as a rule
        while True:
            if limit is not None:
                want = min(want, limit + 1 - size)  # one byte past the limit says "larger"
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:  # it grew while read (or a size of 0 lied)
                raise UserFileError(what, path, f"is larger than {size_text(limit)}")
            want = _READ_CHUNK
    except OSError as exc:
        raise UserFileError(what, path, _problem(exc)) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def atomic_write(file: Path, payload: bytes | Iterable[bytes], mode: int = 0o600) -> None:
    """Write via a temp file in the same directory + os.replace; the result has ``mode``.
    ``payload`` may come in pieces (written as they are made: a big file is never whole in
    memory); the file is replaced only once every piece is written."""
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # the temp name stays within NAME_MAX (255) whatever the file's own name
    prefix = "." + file.name[:200] + "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=file.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            if isinstance(payload, bytes | bytearray):
                handle.write(payload)
            else:
                for piece in payload:
                    handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
