"""Asking the registry itself what it holds (the truth tests compare against)."""

from __future__ import annotations

from dregtui.registry import RegistryClient


def resolve(client: RegistryClient, repository: str, tag: str) -> str | None:
    """The digest ``repository:tag`` points at now, or None when the registry has no such tag."""
    ref = client.head_manifest(repository, tag)
    return ref.digest if ref else None
