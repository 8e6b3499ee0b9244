"""Files dregtui writes for the user (config, cache, dates), and the error a bad one raises.

No third-party imports and no other dregtui module: the inventory (cache) and the settings
(config) both build on this, so neither imports the other.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


class ConfigError(Exception):
    """The configuration (file, option or environment value) is unusable. One sentence."""


def atomic_write(file: Path, payload: bytes | Iterable[bytes], mode: int = 0o600) -> None:
    """Write via a temp file in the same directory + os.replace; the result has ``mode``.
    ``payload`` may come in pieces (written as they are made: a big file is never whole in
    memory); the file is replaced only once every piece is written."""
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + file.name + ".", suffix=".tmp", dir=file.parent)
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
