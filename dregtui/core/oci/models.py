"""Typed views of what a registry returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dregtui.core.errors import ProtocolError
from dregtui.core.oci import digests, mediatypes


@dataclass(frozen=True, slots=True)
class ManifestRef:
    """What a manifest HEAD tells: the digest a reference resolves to, and its type."""

    digest: str
    media_type: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Platform:
    os: str = ""
    architecture: str = ""
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed manifest: an image manifest (config + layers) or an index (child manifests).

    ``raw`` holds the exact bytes the registry served (digests are computed over them; the
    journal stores them so a deleted manifest can be pushed back byte for byte).
    """

    digest: str
    media_type: str
    raw: bytes
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return mediatypes.is_index(self.media_type)

    @property
    def total_size(self) -> int:
        """Config plus layers (images) or the children's manifest sizes (indexes)."""
        if self.is_index:
            return sum(d.size for d in self.manifests)
        config = self.config.size if self.config else 0
        return config + sum(layer.size for layer in self.layers)

    @classmethod
    def parse(cls, raw: bytes, digest: str, media_type: str | None = None) -> Manifest:
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ProtocolError(f"The manifest {digest} is not valid JSON.") from exc
        if not isinstance(doc, dict):
            raise ProtocolError(f"The manifest {digest} is not a JSON object.")
        mt = doc.get("mediaType") or media_type or ""
        if not mt:
            mt = mediatypes.OCI_INDEX if "manifests" in doc else mediatypes.OCI_MANIFEST
        try:
            return cls(
                digest=digest,
                media_type=mt,
                raw=raw,
                config=_descriptor(doc["config"]) if isinstance(doc.get("config"), dict) else None,
                layers=tuple(
                    _descriptor(d) for d in doc.get("layers") or () if isinstance(d, dict)
                ),
                manifests=tuple(
                    _descriptor(d) for d in doc.get("manifests") or () if isinstance(d, dict)
                ),
                subject=_descriptor(doc["subject"])
                if isinstance(doc.get("subject"), dict)
                else None,
                artifact_type=doc.get("artifactType")
                if isinstance(doc.get("artifactType"), str)
                else None,
                annotations=_str_dict(doc.get("annotations")),
            )
        except _BadDigest as exc:
            raise ProtocolError(f"The manifest {digest} lists {exc}.") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"The manifest {digest} has a malformed descriptor.") from exc


class _BadDigest(ValueError):
    """A descriptor's digest that is not a verifiable digest (the message completes "lists
    digest ...")."""


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _descriptor(doc: dict[str, Any]) -> Descriptor:
    platform = doc.get("platform")
    digest = doc["digest"]
    why = digests.problem(digest) if isinstance(digest, str) else "is not a digest"
    if why is not None:
        raise _BadDigest(f"{digests.shown(digest)}, which {why}")
    return Descriptor(
        media_type=str(doc.get("mediaType", "")),
        digest=digest,
        size=int(doc.get("size", 0)),
        platform=Platform(
            os=str(platform.get("os", "")),
            architecture=str(platform.get("architecture", "")),
            variant=str(platform.get("variant", "")),
        )
        if isinstance(platform, dict)
        else None,
        annotations=_str_dict(doc.get("annotations")),
        artifact_type=doc.get("artifactType") if isinstance(doc.get("artifactType"), str) else None,
    )


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of an image config blob the UI shows."""

    created: str | None = None
    os: str = ""
    architecture: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: bytes) -> ImageConfig:
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return cls()
        if not isinstance(doc, dict):
            return cls()
        cfg: dict[str, Any] = doc["config"] if isinstance(doc.get("config"), dict) else {}
        created = doc.get("created")
        return cls(
            created=created if isinstance(created, str) else None,
            os=str(doc.get("os", "")),
            architecture=str(doc.get("architecture", "")),
            labels=_str_dict(cfg.get("Labels")),
        )


class DeleteOutcome:
    DELETED = "deleted"
    NOT_FOUND = "not-found"
