"""Commands ``tui`` (the full-screen browser; also what runs without a command) and ``demo``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from dregtui.ops.scanner import DEFAULT_CAP

ORDER = 90
NO_TERMINAL = (
    "the browser needs a terminal; use a command such as list-tag-names (see dregtui --help)"
)


def has_terminal(stdout: TextIO) -> bool:
    """Can the full-screen app run? Textual reads keys from stdin and draws on stderr; a piped
    stdout means the caller wanted text. Tests replace this function to run the app headless."""
    streams = (sys.__stdin__, stdout, sys.__stderr__)
    try:
        return all(s is not None and s.isatty() for s in streams)
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


def _refuse_without_terminal(ctx: Any) -> bool:
    """Write the one-line refusal and return True when there is no terminal to draw on."""
    if has_terminal(ctx.stdout):
        return False
    ctx.stderr.write(f"dregtui: error: {NO_TERMINAL}\n")
    ctx.stderr.flush()
    return True


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tui",
        help="open the full-screen browser (what runs when no command is given)",
        description="Browse the registry, see which tags share a digest, mark and delete safely.",
    )
    p.set_defaults(handler=run_tui)
    p = subparsers.add_parser(
        "demo",
        help="start a local registry with sample images and open the browser on it",
        description="Starts docker-registry on a free loopback port in a temporary directory, "
        "pushes sample images (shared digests, an OCI index, signatures, many tags), opens the "
        "browser on it and stops the registry on exit.",
    )
    p.add_argument(
        "--tags",
        type=int,
        default=3000,
        metavar="N",
        help="tags in the big sample repository ci/builds (default 3000)",
    )
    p.set_defaults(handler=run_demo)


def _app_options(settings: Any) -> dict[str, Any]:
    return {
        "dry_run": bool(settings.dry_run),
        "jobs": settings.jobs,
        "scan_jobs": settings.scan_jobs or DEFAULT_CAP,
        "keymap": dict(settings.keymap or {}),
        "theme": settings.theme,
    }


def run_tui(args: argparse.Namespace, ctx: Any) -> int:
    if _refuse_without_terminal(ctx):
        return 1
    from dregtui.tui.app import DregApp

    settings = ctx.settings
    client = ctx.client()
    client.ping()  # one clear error line before the screen takes over
    cache = ctx.cache()
    wanted = list(settings.repositories or [])
    catalog = not wanted  # does the inventory cover the whole catalog?
    # A warm start reads the cache's first line only: the tree is drawn from it at once and
    # the rest loads behind the screen (a million tags take seconds).
    found = ctx.usable_cache_header(wanted)
    header = load = None
    if found is not None:
        (reader, header), catalog = found, found[1].catalog
        load = reader.load

    app = DregApp(
        client,
        cached=header,
        load_cache=load,
        save_cache=CacheWriter(cache) if cache is not None else None,
        whole_catalog=catalog,
        settings=settings,
        repositories=settings.repositories or None,
        **_app_options(settings),
    )
    with held_log_lines():
        app.run()
    return 0


class CacheWriter:
    """How the TUI saves its inventory: ``writer(inventory, catalog)`` replaces the cache with a
    complete scan; ``writer.patch(changes)`` applies a deletion's or a restore's changes to the
    cache on disk while a scan is still running (so the command line never reads a tag the TUI
    deleted). The screen is up: a cache that cannot be written is not worth a crash."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.lock = threading.Lock()  # a deletion's thread and the scan's may both save

    def __call__(self, inventory: Any, catalog: bool) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.cache.save(inventory, catalog=catalog)

    def patch(self, changes: Any) -> None:
        from dregtui.ops.tag_changes import apply_changes

        with self.lock, contextlib.suppress(OSError, ValueError):
            cached = self.cache.read()
            if cached is None:
                return  # no cache (or an unusable one): the next command scans
            apply_changes(cached.inventory, changes)
            self.cache.save(cached.inventory, catalog=cached.catalog)

    def remove(self) -> None:
        with self.lock:
            self.cache.remove()


class _Held(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            line = self.format(record)
            self.lines[line] = self.lines.get(line, 0) + 1


@contextlib.contextmanager
def held_log_lines() -> Iterator[None]:
    """While the screen is up, a log line (urllib3's "connection pool is full", a warning of
    ours) written to the terminal lands on top of it: the lines are held, and written once
    the screen is gone, each distinct line once (with how many times it came)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_dregtui", False)]
    held = _Held()
    if ours:
        held.setFormatter(ours[0].formatter)
        held.setLevel(ours[0].level)
    for handler in ours:
        root.removeHandler(handler)
    root.addHandler(held)
    try:
        yield
    finally:
        root.removeHandler(held)
        for handler in ours:
            root.addHandler(handler)
        stream = getattr(ours[0], "stream", None) if ours else None
        if stream is not None:
            for line, count in held.lines.items():
                with contextlib.suppress(OSError, ValueError):
                    stream.write(f"{line} ({count} times)\n" if count > 1 else f"{line}\n")


def run_demo(args: argparse.Namespace, ctx: Any) -> int:
    from dregtui.demo import start_demo_registry
    from dregtui.demo.server import RegistryNotFound

    if _refuse_without_terminal(ctx):
        return 1
    try:
        registry: Any = start_demo_registry()
    except RegistryNotFound as exc:
        ctx.stderr.write(f"dregtui: error: {exc}.\n")
        return 1
    fills: list[Any] = []  # the background fill of the big repository, once started

    def cleanup(wait: bool = True) -> None:
        for fill in fills:  # the pushes still queued are dropped
            if wait:
                fill.stop()
            else:
                fill.cancelled.set()
        registry.cleanup(background=True)  # removing a big sample takes seconds: not our wait

    with _cleanup_on_signals(lambda: cleanup(wait=False)):
        try:
            _run_demo_app(args, ctx, registry, fills)
        finally:
            cleanup()
    return 0


def _run_demo_app(args: argparse.Namespace, ctx: Any, registry: Any, fills: list[Any]) -> None:
    from dregtui.demo.sample import BIG_REPOSITORY, BackgroundFill, populate
    from dregtui.registry.client import RegistryClient
    from dregtui.tui.app import DregApp

    ctx.stderr.write(f"dregtui demo: registry started at {registry.url}\n")
    with RegistryClient(registry.url, pool_size=DEFAULT_CAP) as client:
        populate(
            client,
            many_tags=0,
            report=lambda step: ctx.stderr.write(f"dregtui demo: {step}…\n"),
        )
        # The demo's cache is written like any registry's (a command run against the demo
        # registry meanwhile reads what the TUI deleted), and removed with the registry.
        writer = _demo_cache(ctx, registry.url)
        app = DregApp(client, save_cache=writer, **_app_options(ctx.settings))
        if args.tags > 0:
            # The big repository fills in while the screen is already up.
            app.status_message = f"demo: pushing {args.tags} tags to {BIG_REPOSITORY}…"

            def done(error: Exception | None) -> None:
                app.call_when_running(app.demo_fill_done, BIG_REPOSITORY, error)

            fills.append(BackgroundFill(registry.url, args.tags, done).start())
        try:
            with held_log_lines():
                app.run()
        finally:
            if writer is not None:
                writer.remove()  # the registry goes: a later demo on its port starts afresh
        ctx.stderr.write("dregtui demo: stopping the local registry…\n")


def _demo_cache(ctx: Any, url: str) -> CacheWriter | None:
    if not ctx.settings.use_cache:
        return None
    from dregtui.state.cache import InventoryCache

    return CacheWriter(InventoryCache.for_registry(url))


@contextlib.contextmanager
def _cleanup_on_signals(cleanup: Callable[[], None]) -> Iterator[None]:
    """Closing the terminal (SIGHUP) or a kill (SIGTERM) ends Python without running ``finally``:
    the demo's temp dir (100 MB with the big sample) stayed behind. Clean up, then die of it."""

    def handler(signum: int, frame: object) -> None:
        with contextlib.suppress(Exception):
            cleanup()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signals = (signal.SIGHUP, signal.SIGTERM)
    try:
        previous = {sig: signal.signal(sig, handler) for sig in signals}
    except ValueError:  # not the main thread: nothing to install
        previous = {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
