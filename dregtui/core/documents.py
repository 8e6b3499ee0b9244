"""JSON and TOML documents parsed with one failure each: a document nested deeper than the
parser's stack is malformed like any other, never a RecursionError."""

from __future__ import annotations

import json
import tomllib
from typing import Any


def loads_json(data: bytes | str) -> Any:
    """``json.loads``; nesting deeper than the parser's stack is a ValueError, as any other
    malformed document is (never a RecursionError)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``; nesting deeper than the parser's stack is a TOMLDecodeError."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("nested too deeply") from None
