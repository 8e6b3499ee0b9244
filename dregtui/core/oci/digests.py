"""Digests: the OCI grammar, the algorithms dregtui can verify, and checks against bytes.

A digest is ``algorithm:encoded`` (OCI image-spec, "Digests"): the algorithm
``[a-z0-9]+(?:[+._-][a-z0-9]+)*``, the encoded part ``[a-zA-Z0-9=_-]+``. dregtui verifies
``sha256`` (64 lowercase hex digits) and ``sha512`` (128); any other algorithm is refused,
since a digest that cannot be checked against the bytes cannot be trusted to name what the
user saw. Every digest a registry sends (``Docker-Content-Digest``, descriptors in a body)
passes ``check`` before it is used or shown; a body fetched by digest must hash to it.
"""

from __future__ import annotations

import hashlib
import json
import re

from dregtui.core.errors import ProtocolError, RegistryError
from dregtui.core.textsafe import clean, shorten

DIGEST_RE = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
ALGORITHMS = {"sha256": 64, "sha512": 128}
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_SHOWN = 80
_SCHEMA1_HINT = re.compile(rb'"schemaVersion"\s*:\s*1(?![0-9])')


def problem(value: str) -> str | None:
    """Why ``value`` is not a digest dregtui can verify (completes "..., which ..."), or None."""
    match = DIGEST_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return "is not a digest (algorithm:hex, e.g. sha256:<64 hex digits>)"
    algorithm, encoded = match.groups()
    length = ALGORITHMS.get(algorithm)
    if length is None:
        return f"uses {shorten(algorithm, 20)}, an algorithm dregtui cannot verify (only sha256 and sha512)"
    if len(encoded) != length or not _LOWER_HEX.fullmatch(encoded):
        return f"is not a valid {algorithm} digest ({length} lowercase hex digits)"
    return None


def is_digest(value: object) -> bool:
    return isinstance(value, str) and problem(value) is None


_PREFIX_LENGTHS = {"sha256:": 71, "sha512:": 135}


def all_digests(values: list[object]) -> bool:
    """``all(is_digest(v) for v in values)``, fast enough for the million digests of a big
    cache: the prefix and length per value, then every hex digit at once."""
    hex_parts = []
    for value in values:
        if type(value) is not str or _PREFIX_LENGTHS.get(value[:7]) != len(value):
            return False
        hex_parts.append(value[7:])
    try:
        joined = "".join(hex_parts).encode("ascii")
    except UnicodeEncodeError:
        return False
    return not joined.translate(None, b"0123456789abcdef")


def shown(value: object) -> str:
    """A value that should have been a digest, safe and short enough to quote in a sentence."""
    return repr(shorten(clean(value), _SHOWN))


def compute(raw: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, raw).hexdigest()}"


def check(value: object, *, registry: str, what: str) -> str:
    """``value`` when it is a verifiable digest; else a ProtocolError naming ``what`` (e.g.
    ``"the digest of app:1.0"``) and the bad value, cleaned and shortened."""
    why = problem(value) if isinstance(value, str) else "is not a digest"
    if why is None:
        assert isinstance(value, str)
        return value
    raise ProtocolError(
        f"The registry at {registry} answered {shown(value)} as {what}, which {why}."
    )


def check_reference(reference: str) -> None:
    """A reference with a ``:`` is a digest (tags cannot hold one): it must be verifiable."""
    if ":" in reference:
        why = problem(reference)
        if why is not None:
            raise RegistryError(f"{shown(reference)} {why}.")


def _is_schema1(raw: bytes) -> bool:
    """Schema 1 manifests are digested over their payload without the signatures, not over
    the bytes served; they are the only bodies not checked against their digest. Bodies
    that do not say ``"schemaVersion": 1`` in so many bytes (no escapes) are not parsed: a
    scan verifies a body a tag, and parsing it twice was a tenth of the scan's CPU."""
    if _SCHEMA1_HINT.search(raw) is None and b"\\u" not in raw:
        return False
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("schemaVersion") == 1


def verify_body(raw: bytes, *, reference: str, header: str | None, registry: str, what: str) -> str:
    """The digest of ``raw``, served (or stored) under ``reference`` with the
    ``Docker-Content-Digest`` ``header``: ``reference`` itself when it is a digest, else the
    header, else the body's sha256. Raises ProtocolError when the header is not a verifiable
    digest, or when the bytes do not hash to the reference or to the header."""
    check_reference(reference)
    claimed = [reference] if ":" in reference else []
    if header:
        claimed.append(check(header, registry=registry, what=f"the digest of {what}"))
    if not claimed:
        return compute(raw)
    if _is_schema1(raw):
        return claimed[0]
    for digest in dict.fromkeys(claimed):
        actual = compute(raw, digest.partition(":")[0])
        if actual != digest:
            raise ProtocolError(
                f"The registry at {registry} claims {digest} for {what}, but its bytes hash "
                f"to {actual}; refusing to trust that answer."
            )
    return claimed[0]
