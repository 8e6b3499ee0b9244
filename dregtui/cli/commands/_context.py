"""The Context handed to every command handler: settings, output streams, client, inventory."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from dregtui.cli.progress import ProgressLine
from dregtui.core.inventory import Inventory
from dregtui.core.stored import StorageView
from dregtui.ops.connect import make_client
from dregtui.ops.scanner import Scanner, ScanProgress
from dregtui.registry.client import RegistryClient
from dregtui.state.cache import CachedInventory, InventoryCache
from dregtui.state.cache_format import CacheHeader
from dregtui.state.config import NO_REGISTRY, ConfigError, Settings


class UsageError(Exception):
    """A command line the user must fix. One sentence; exit code 1."""


@dataclass
class Context:
    """What a handler ``run(args, ctx) -> int`` gets.

    - ``settings``: merged Settings (CLI > env > profile > defaults).
    - ``stdout`` / ``stderr``: write results to stdout, diagnostics to stderr.
    - ``client()``: the RegistryClient (created on first use, closed by the CLI).
    - ``inventory()``: from the cache when usable, else a fresh scan (saved to the cache).
    - ``save_inventory(inv)``: rewrite the cache after a change (e.g. deletions).
    - ``scanner(...)``: a Scanner with the settings' jobs/rate and the CLI progress line.
    - ``warn(text)``: one ``dregtui: warning: ...`` line on stderr.
    - ``storage_view()``: the registry's storage (``--storage``/``--registry-config``), read
      once and checked against the registry; None without one.
    """

    settings: Settings
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    progress_hook: Callable[[ScanProgress], None] | None = None
    _client: RegistryClient | None = None
    _catalog: bool = True  # the last inventory() covered the whole catalog
    _memo: tuple[list[str], Inventory] | None = None
    _password: str | None = field(default=None, repr=False)  # asked at the terminal
    _storage: Any = None  # the storage view, read once per run (storage_view())

    # -- output -----------------------------------------------------------------------

    def out(self, line: str = "") -> None:
        self.stdout.write(line + "\n")

    def out_json_list(self, items: Iterable[object]) -> int:
        """Write ``items`` as ``json.dumps(list(items), indent=2)`` would, one item at a time
        (a million tags never sit in memory as one document). Returns how many."""
        count = 0
        for item in items:
            self.stdout.write(("[\n  " if not count else ",\n  ") + _indented(item))
            count += 1
        self.stdout.write("\n]\n" if count else "[]\n")
        return count

    def show_count(self, item_type: str, count: int) -> None:
        """The classic ``--count`` footer: a dashed line, then ``Number of <things>: N``."""
        if self.settings.count:
            status = f"Number of {item_type}: {count}"
            self.out("-" * len(status))
            self.out(status)

    def warn(self, text: str) -> None:
        self.stderr.write(f"dregtui: warning: {text}\n")
        self.stderr.flush()

    # -- registry ---------------------------------------------------------------------

    @property
    def registry_url(self) -> str:
        if not self.settings.registry:
            raise ConfigError(NO_REGISTRY)
        from dregtui.core.registry_url import parse_registry_url

        try:
            url, _, _ = parse_registry_url(self.settings.registry)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return url  # never user:password@ (cache, output)

    def client(self) -> RegistryClient:
        if self._client is None:
            self.registry_url  # noqa: B018 - raises the "no registry" error first
            self._client = make_client(self.with_password(self.settings))
        return self._client

    def with_password(self, settings: Settings) -> Settings:
        """``-u USER`` without a password (no ``-p``, no ``REGISTRY_PASSWORD``): on a terminal,
        ask for it once per run with ``getpass`` (never echoed, never stored: only the
        returned copy of the settings holds it). Without a terminal, ``settings`` unchanged
        (the registry's refusal then says that no password was given)."""
        if not settings.username and settings.registry and "@" in settings.registry:
            from dregtui.core.registry_url import normalize_url, split_userinfo

            try:
                _, user, password = split_userinfo(normalize_url(settings.registry))
            except ValueError:
                return settings  # a malformed URL is reported by the client
            if user and not password:  # -reg https://user@host
                settings = dataclasses.replace(settings, username=user)
        if not settings.username or settings.password:
            return settings
        if self._password is None:
            stdin = sys.stdin
            if stdin is None or not stdin.isatty():
                return settings
            import getpass

            from dregtui.core.registry_url import redact_url

            where = redact_url(settings.registry or "the registry").replace("://***@", "://")
            try:
                self._password = getpass.getpass(f"Password for {settings.username} at {where}: ")
            except EOFError:
                self._password = ""
        if not self._password:
            return settings
        return dataclasses.replace(settings, password=self._password)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def storage_view(self) -> StorageView | None:
        """The storage the settings name, read once per run and checked against the registry
        (:func:`dregtui.ops.storage_inventory.read_view`); None when none is given. Its
        warnings go to stderr."""
        from dregtui.ops.storage_inventory import read_view, storage_given

        if not storage_given(self.settings):
            return None
        if self._storage is None:
            from dregtui.core.textsafe import clean

            self._storage = read_view(self.settings, self.client())
            for warning in self._storage.warnings:
                self.warn(clean(warning))
        view: StorageView = self._storage
        return view

    # -- inventory --------------------------------------------------------------------

    def cache(self) -> InventoryCache | None:
        if not self.settings.use_cache:
            return None
        if self.settings.cache:
            return InventoryCache(self.settings.cache, self.registry_url)
        return InventoryCache.for_registry(self.registry_url)

    def scanner(self, **kwargs: Any) -> Scanner:
        progress = ProgressLine(self.stderr)
        hook = self.progress_hook

        def report(p: ScanProgress) -> None:
            progress.update(p)
            if hook is not None:
                hook(p)

        scanner = Scanner(
            self.client(),
            jobs=self.settings.scan_jobs,
            progress=report,
            warn=self.warn,
            **kwargs,
        )
        scanner.progress_line = progress  # type: ignore[attr-defined]
        return scanner

    def inventory(self, repositories: list[str] | None = None) -> Inventory:
        """The registry's inventory: cached unless ``--refresh``; a scan is saved to the cache.

        ``repositories`` (default: ``--repositories``) names what to scan when the registry
        does not serve ``_catalog``; a cached full scan that has them is used as it is.
        """
        wanted = list(repositories if repositories is not None else self.settings.repositories)
        if self._memo is not None and self._memo[0] == wanted:
            return self._memo[1]  # one scan per run, even with --refresh
        inventory = self._load_or_scan(wanted)
        self._memo = (wanted, inventory)
        return inventory

    def usable_cache(self, wanted: list[str]) -> CachedInventory | None:
        """The cached inventory when it can stand for a scan of ``wanted`` (all repositories
        when empty), else None. The one rule, for the commands and the TUI: not with
        --refresh; a closed-catalog cache (named repositories only) never stands for the
        catalog; named repositories must all be in it; not older than --max-cache-age. A path
        that is not a cache is refused (one sentence) before any request."""
        cache = self._readable_cache()
        cached = cache.read(warn=self.warn) if cache is not None else None
        if cached is None:
            return None
        inventory = cached.inventory
        if not self._stands_for(
            wanted, cached.catalog, inventory.repositories, inventory.scanned_at
        ):
            return None
        return cached

    def usable_cache_header(self, wanted: list[str]) -> tuple[InventoryCache, CacheHeader] | None:
        """``usable_cache``'s rule on the cache's first line alone (the TUI's warm start: the
        rest loads behind the screen, and may still turn out damaged)."""
        cache = self._readable_cache()
        header = cache.peek(warn=self.warn) if cache is not None else None
        if cache is None or header is None:
            return None
        if not self._stands_for(wanted, header.catalog, header.repositories, header.scanned_at):
            return None
        return cache, header

    def _readable_cache(self) -> InventoryCache | None:
        """The cache to read, None without one or with --refresh; CacheRefused (one sentence)
        for a path that is not a cache, before any request."""
        cache = self.cache()
        if cache is None:
            return None
        cache.check()
        return None if self.settings.refresh else cache

    def _stands_for(
        self, wanted: list[str], catalog: bool, have: Container[str], scanned_at: float | None
    ) -> bool:
        """The cache rule: a closed-catalog cache never stands for the catalog, named
        repositories must all be in it, and it is not older than --max-cache-age."""
        covers = (catalog and not wanted) or (bool(wanted) and all(r in have for r in wanted))
        return covers and not self._too_old(scanned_at)

    def _load_or_scan(self, wanted: list[str]) -> Inventory:
        cache = self.cache()
        cached = self.usable_cache(wanted)
        if cached is not None:
            self._catalog = cached.catalog
            self._note_cache_age(cached.inventory)
            return cached.inventory
        inventory = self.scan(wanted or None)
        if cache is not None:
            try:
                cache.save(inventory, catalog=not wanted)
            except OSError as exc:
                self.warn(f"cannot write the cache file {cache.path}: {exc.strerror or exc}.")
        self._catalog = not wanted
        return inventory

    def _too_old(self, scanned_at: float | None) -> bool:
        """``--max-cache-age``: an older cache (or one dated in the future) is rescanned."""
        limit = self.settings.max_cache_age
        if limit is None or scanned_at is None:
            return False
        import time

        from dregtui.cli.progress import format_duration

        age = time.time() - scanned_at
        if -60 <= age <= limit:
            return False
        shown = format_duration(age) + " old" if age > 0 else "dated in the future"
        self.stderr.write(
            f"dregtui: the cache of {self.registry_url} is {shown} (over --max-cache-age "
            f"{format_duration(limit)}); rescanning\n"
        )
        self.stderr.flush()
        return True

    def _note_cache_age(self, inventory: Inventory) -> None:
        """One line on stderr (terminal or not: CI logs too): the answer comes from the cache."""
        if inventory.scanned_at is None:
            return
        import time
        from datetime import UTC, datetime

        from dregtui.cli.progress import format_duration

        age = format_duration(max(0.0, time.time() - inventory.scanned_at))
        try:
            when = datetime.fromtimestamp(inventory.scanned_at, UTC).strftime("%Y-%m-%d %H:%M")
        except (OverflowError, OSError, ValueError):
            when = "?"
        updated = ""
        if inventory.updated_at is not None and inventory.updated_at > inventory.scanned_at:
            ago = format_duration(max(0.0, time.time() - inventory.updated_at))
            updated = f", updated by a deletion or restore {ago} ago"
        self.stderr.write(
            f"dregtui: using the cache of {self.registry_url} from {when} UTC ({age} "
            f"old{updated}); --refresh rescans\n"
        )
        self.stderr.flush()

    def scan(self, repositories: list[str] | None = None) -> Inventory:
        """A fresh scan (no cache): the whole catalog, or only ``repositories``."""
        client = self.client()
        client.ping()
        scanner = self.scanner()
        try:
            return scanner.scan(repositories=repositories)
        finally:
            scanner.progress_line.clear()  # type: ignore[attr-defined]

    def rescan_missing(self, inventory: Inventory, names: list[str]) -> list[str]:
        """Scan the named repositories the inventory does not know (pushed since the cache
        was written?) into it; returns those the registry has no tags for either."""
        missing = [n for n in dict.fromkeys(names) if n and n not in inventory.repositories]
        if not missing:
            return []
        scanner = self.scanner()
        try:
            for name in missing:
                scanner.scan_repository(inventory, name)
        finally:
            scanner.progress_line.clear()  # type: ignore[attr-defined]
        unknown = [n for n in missing if not inventory.repositories.get(n)]
        for name in unknown:
            inventory.remove_repository(name)  # no empty entries for typos in the cache
        if len(unknown) < len(missing):
            self.save_inventory(inventory)
        return unknown

    def save_inventory(self, inventory: Inventory) -> None:
        cache = self.cache()
        if cache is not None and inventory.scanned_at is not None:
            try:
                cache.save(inventory, catalog=self._catalog)
            except OSError as exc:
                self.warn(f"cannot write the cache file {cache.path}: {exc.strerror or exc}.")


_FLAT = (str, int, float, bool, type(None))
_FLAT_ITEM = json.JSONEncoder(separators=(",\n    ", ": "))  # made once: dumps makes one a call


def _indented(item: object) -> str:
    """``json.dumps(item, indent=2)`` one level in (an item of a list), the same text. An
    object of plain values, the usual item, goes through the C encoder: with ``indent`` json
    encodes in Python, which made ``--json`` twice the time of the text at a million tags.
    (No string's encoding holds a raw newline, so the separator cannot be inside a value.)"""
    if isinstance(item, dict) and item and all(isinstance(v, _FLAT) for v in item.values()):
        inner = _FLAT_ITEM.encode(item)[1:-1]
        return "{\n    " + inner + "\n  }"
    return json.dumps(item, indent=2).replace("\n", "\n  ")
