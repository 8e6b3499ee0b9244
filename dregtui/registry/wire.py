"""Small pure helpers for the registry client: URLs, digests, media types of bodies."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

from dregtui.core.oci import mediatypes


def sha256_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def header_media_type(resp: requests.Response) -> str:
    return media_type_of(resp.headers.get("Content-Type"))


def media_type_of(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";")[0].strip()


def with_query(url: str, **params: str) -> str:
    """Set query parameters, keeping the others (and their encoding) as they were."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    pairs.extend(params.items())
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(pairs, quote_via=quote, safe=""), "")
    )


def body_media_type(raw: bytes) -> str:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    if isinstance(doc, dict) and isinstance(doc.get("mediaType"), str):
        return str(doc["mediaType"])
    if isinstance(doc, dict) and doc.get("schemaVersion") == 1:
        return (
            mediatypes.DOCKER_MANIFEST_V1_SIGNED
            if "signatures" in doc
            else mediatypes.DOCKER_MANIFEST_V1
        )
    return ""


def ref_name(repository: str, reference: str) -> str:
    """``repo:tag`` or ``repo@sha256:...`` for messages."""
    sep = "@" if ":" in reference else ":"
    return f"{repository}{sep}{reference}"


_DIGITS = re.compile(r"[0-9]+")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")  # no control character but a tab


def content_length(value: str | None) -> int | None:
    """A ``Content-Length`` value as a number: None when absent, ValueError unless it is ASCII
    digits only (``str.isdigit`` and ``int`` also take ``²`` or other scripts' digits)."""
    if value is None:
        return None
    value = value.strip(" \t")
    if not _DIGITS.fullmatch(value):
        raise ValueError(f"a malformed Content-Length ({value[:40]!r})")
    return int(value)


def bad_header_value(value: str | bytes) -> bool:
    """True when ``value`` may not go into a request header: a CR, LF, NUL or other control
    character (which would end the header, or the request, where it stands), or a character
    outside latin-1."""
    if isinstance(value, bytes):
        try:
            value = value.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            return True
    if not _HEADER_VALUE.fullmatch(value):
        return True
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return True
    return False


def megabytes(size: int) -> str:
    """``4194304`` -> ``4 MB``, for a limit named in a sentence."""
    return f"{size // (1024 * 1024)} MB"
