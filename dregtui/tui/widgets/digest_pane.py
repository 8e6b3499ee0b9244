"""The digest pane: what the selected tag points at."""

from __future__ import annotations

import textwrap
import threading

from rich.text import Text
from textual import work
from textual.containers import VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from dregtui.core.inventory import TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.policy.decisions import Decision
from dregtui.core.referrers import Referrer
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.textsafe import clean
from dregtui.ops.imagefacts import ImageFacts, image_history
from dregtui.tui.build_view import build_text
from dregtui.tui.referrer_view import referrer_size
from dregtui.tui.session import Session
from dregtui.tui.text import human_size, short_digest
from dregtui.tui.untagged import when

LABEL_W = 10
KIND_STYLE = {"signature": "green", "sbom": "cyan", "attestation": "magenta"}
EMPTY = "Pick a tag: its manifest (size, created, labels, layers) shows here."


class _Rows:
    """Label/value rows; long values go on in lines aligned under the value column."""

    def __init__(self, width: int) -> None:
        self.text = Text(no_wrap=True, overflow="crop")
        self.room = max(width - LABEL_W, 12)

    def __call__(self, label: str, value: str, style: str = "") -> None:
        value = clean(value)  # broken between words where it can be (a digest has none)
        chunks = textwrap.wrap(value, self.room, break_on_hyphens=False) or [""]
        for number, chunk in enumerate(chunks):
            self.text.append((label if number == 0 else "").ljust(LABEL_W), style="bold")
            self.text.append(chunk + "\n", style=style)


def describe(
    repository: str,
    tag: str,
    info: TagInfo,
    details: ImageFacts | None,
    width: int = 80,
    total: int | None = None,
    build_pending: bool = False,
) -> Text:
    """The pane's content as a Text (registry values kept literal). An image's history, once
    loaded, takes the place of its list of layers (each step with its layer's size), unless
    the two do not match; ``build_pending``: it is being loaded."""
    rows = _Rows(width)
    text = rows.text
    rows("tag", f"{repository}:{tag}")
    rows("digest", info.digest)
    media_type = (details.media_type if details and details.media_type else "") or info.media_type
    rows("type", mediatypes.short_name(media_type) if media_type else "?", "dim")
    if details is None:
        text.append("loading details…", style="dim italic")
        return text
    if details.error:
        rows("error", details.error, "red")
        return text
    if details.os_arch:
        rows("platform", details.os_arch)
    rows("created", details.created or "unknown")
    if total is not None:  # as the tags pane and du count it: every blob once
        rows("size", f"{human_size(total)} (layers, config and manifests, each blob once)")
    if details.platforms:
        label = "layers" if total is not None else "size"
        rows(label, f"{human_size(details.size)} over {len(details.platforms)} platforms")
        for number, (platform, child) in enumerate(details.platforms):
            rows("platforms" if number == 0 else "", f"{platform:<14} {short_digest(child)}")
    else:
        count = len(details.layers)
        layers = f"{count} layer" if count == 1 else f"{count} layers"
        if total is None:
            rows("size", f"{human_size(details.size)} (config and {layers})")
        elif count:
            rows("layers", f"{human_size(sum(layer.size for layer in details.layers))} in {layers}")
        else:
            rows("layers", f"none: the config alone ({human_size(details.size)})")
    for number, (key, value) in enumerate(sorted(details.labels.items())):
        rows("labels" if number == 0 else "", f"{key}={value}")
    history = details.history
    sized = history is not None and history.steps and not history.note
    for number, layer in enumerate(() if sized else details.layers):
        rows(
            "layers" if number == 0 else "",
            f"{short_digest(layer.digest)} {human_size(layer.size):>9}",
            "dim",
        )
    if history is not None:
        text.append_text(build_text(history, width))
    elif build_pending:
        rows("build", "loading the image's history…", "dim italic")
    text.rstrip()
    return text


class DigestPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    DigestPane {
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(
        self, session: Session, client: RegistryAPI | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.client = client
        self._current: tuple[str, str | None] | None = None  # what show_tag was last asked
        self._lock = threading.Lock()
        self._wanted: tuple[str, str] | None = None  # the history to load next
        self._loading = False  # a loader runs

    def on_resize(self, event: Resize) -> None:
        """The width is known (first layout) or changed: the rows are cut to it again."""
        if self._current is not None:
            self.show_tag(*self._current)

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text(EMPTY, style="dim"), id="digest-body")

    def _update(self, text: Text) -> None:
        body = self.query_one("#digest-body", Static)
        if text != body.content:  # the same tag's digest as another's: nothing to repaint
            body.update(text)

    def show_tag(self, repository: str, tag: str | None) -> None:
        """The manifest ``repository:tag`` points at, as the session knows it; its history is
        loaded (a worker) once its facts are in."""
        self._current = (repository, tag)
        session = self.session
        info = session.inventory.tag_info(repository, tag) if tag else None
        details = session.details.get(info.digest) if info else None
        decision = session.policy.decision(repository, tag) if session.policy and tag else None
        space = session.space if info else None
        total = space.manifest_size(info.digest) if space and info else None
        history = session.storage.history(repository, tag) if tag else []
        refs = (
            session.referrers.referrers(session.inventory, repository, info.digest) if info else []
        )
        sized = [(r, referrer_size(session.inventory, r.digest)) for r in refs]
        marked = tag is not None and (repository, tag) in session.marks
        pending = details is not None and details.history is None and not details.error
        if pending and self.client is not None and details is not None:
            self._want_history(repository, details.digest)
        self.show(repository, tag, info, details, decision, total, history, sized, marked, pending)

    def _want_history(self, repository: str, digest: str) -> None:
        """Load the shown digest's history. One loader at a time, which takes the digest shown
        last once it is done with the one in hand: the cursor moves faster than a registry
        answers."""
        with self._lock:
            self._wanted = (repository, digest)
            if self._loading:
                return
            self._loading = True
        self._load_history()

    @work(thread=True, exit_on_error=False, group="history")
    def _load_history(self) -> None:
        assert self.client is not None
        worker = get_current_worker()
        try:
            while True:
                with self._lock:
                    wanted, self._wanted = self._wanted, None
                    if wanted is None or worker.is_cancelled:
                        self._loading = False
                        return
                repository, digest = wanted
                known = self.session.details.get(digest)
                if known is not None and known.history is not None:
                    continue  # asked twice while its answer was on the way
                history = image_history(self.client, repository, digest)  # 2 or 3 requests
                self.session.details.add_history(digest, history)
                self.post_message(self.HistoryLoaded())
        except BaseException:
            with self._lock:
                self._loading = False  # the next digest shown starts a new loader
            raise

    class HistoryLoaded(Message):
        """An image's history is in the session's details."""

    def on_digest_pane_history_loaded(self, message: HistoryLoaded) -> None:
        message.stop()
        if self._current is not None:
            self.show_tag(*self._current)

    def show(
        self,
        repository: str,
        tag: str | None,
        info: TagInfo | None,
        details: ImageFacts | None,
        decision: Decision | None = None,
        total: int | None = None,
        history: list[tuple[str, float]] | None = None,
        referrers: list[tuple[Referrer, int | None]] | None = None,
        marked: bool = False,
        build_pending: bool = False,
    ) -> None:
        """``history``: every digest the tag pointed at, with when, oldest first (from the
        registry's storage; none without it)."""
        if tag is None or info is None:
            self._update(Text(EMPTY, style="dim"))
            return
        width = self.scrollable_content_region.width - 1
        if width <= 0:  # before the first layout: on_resize draws again at the real width
            width = 60
        text = Text()
        if decision is not None:  # the applied policy's verdict, and the rule that decided
            verdict = "delete" if decision.delete else "keep"
            text.append("policy   ", style="bold")
            text.append(verdict, style="bold red" if decision.delete else "bold green")
            by = f" ({decision.rule}: {decision.why})" if decision.rule else f" ({decision.why})"
            text.append(clean(by) + "\n")
        text.append_text(describe(repository, tag, info, details, width, total, build_pending))
        if referrers:
            text.append("\n")
            text.append_text(referrers_text(info.digest, referrers, width, marked))
        if history:
            text.append("\n")
            text.append_text(history_text(history, width))
        self._update(text)


def referrers_text(
    digest: str, referrers: list[tuple[Referrer, int | None]], width: int, marked: bool = False
) -> Text:
    """The image's referrers (signatures, SBOMs, attestations; a referrer's own below it):
    kind, artifact type, size, digest. They go with the image when it is deleted."""
    rows = _Rows(width)
    for number, (ref, size) in enumerate(referrers):
        of = "" if ref.subject == digest else f" (of {short_digest(ref.subject)})"
        rows(
            "referrers" if number == 0 else "",
            f"{ref.kind.value:<11} {human_size(size) if size is not None else '?':>9}  "
            f"{short_digest(ref.digest)}{of}",
            KIND_STYLE.get(ref.kind.value, ""),
        )
        rows("", f"  {ref.artifact_type or f'({ref.source.value} tag)'}", "dim")
    if marked:
        rows("", f"marked: these {len(referrers)} go with the image", "bold magenta")
    else:
        rows("", "(they go with the image when it is deleted)", "dim")
    rows.text.rstrip()
    return rows.text


def history_text(history: list[tuple[str, float]], width: int) -> Text:
    """The tag's earlier digests, newest first, each with when the tag pointed there and when
    it moved on; or that it never moved."""
    rows = _Rows(width)
    spans = list(zip(history, history[1:], strict=False))
    if not spans:
        rows("history", f"pointed here since {when(history[-1][1])}", "dim")
    for number, ((digest, since), (_, moved)) in enumerate(reversed(spans)):
        rows(
            "history" if number == 0 else "",
            f"{short_digest(digest)} {when(since)} → {when(moved)}",
        )
    rows.text.rstrip()
    return rows.text
