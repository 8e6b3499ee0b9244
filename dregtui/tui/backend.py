"""Thin adapters between the TUI and the core. Runs in worker threads; no Textual here."""

from __future__ import annotations

from collections.abc import Callable

from dregtui.inventory.scanner import Scanner, ScanProgress
from dregtui.registry.client import RegistryClient

ProgressCallback = Callable[[int, int, bool], None]
RepositoryCallback = Callable[[str], None]


def make_scanner(
    client: RegistryClient,
    jobs: int,
    progress: ProgressCallback,
    on_repository: RepositoryCallback,
) -> Scanner:
    """A core Scanner whose progress reports (repositories done, total, finished)."""

    def report(p: ScanProgress) -> None:
        progress(p.repositories_done, p.repositories_total, p.finished)

    return Scanner(client, jobs=jobs, progress=report, on_repository=on_repository)
