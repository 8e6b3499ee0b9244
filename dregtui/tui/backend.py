"""Thin adapters between the TUI and the core. Runs in worker threads; no Textual here."""

from __future__ import annotations

from collections.abc import Callable

from dregtui.inventory.scanner import Scanner, ScanProgress
from dregtui.registry.client import RegistryClient

ProgressCallback = Callable[[ScanProgress], None]
RepositoryCallback = Callable[[str], None]


def make_scanner(
    client: RegistryClient,
    jobs: int,
    progress: ProgressCallback,
    on_repository: RepositoryCallback,
) -> Scanner:
    """A core Scanner reporting progress and finished repositories through callbacks."""
    return Scanner(client, jobs=jobs, progress=progress, on_repository=on_repository)
