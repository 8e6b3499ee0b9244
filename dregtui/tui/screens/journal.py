"""The journal screen: this registry's deletion batches, newest first, and the confirmation
before one is restored (``J`` and ``u`` on the main screen; the flow is
:mod:`dregtui.tui.screens.undo_flow`'s).

Everything shown comes from the journal alone (no registry request): when, how many
repositories, tags and manifests, what the deleted images weigh (their blobs as the journaled
manifests list them, each blob once) and whether the batch was restored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from dregtui.core.errors import ProtocolError
from dregtui.core.oci.models import Manifest
from dregtui.core.space import human_size
from dregtui.core.textsafe import clean
from dregtui.core.wording import plural
from dregtui.state.journal import Batch, JournalRecord
from dregtui.tui.screens.fit import SHARE
from dregtui.tui.widgets.footer import DregFooter

NARROW = 100  # terminal columns below which the columns are abbreviated
SHOWN_NAMES = 3  # repositories named in a confirmation


def batch_time(batch: Batch, *, short: bool = False) -> str:
    """The batch's time in local time: ``2026-12-07 14:03`` (``12-07 14:03`` when short)."""
    try:
        when = datetime.fromisoformat(batch.time.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return clean(batch.time[:16])
    return when.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")


def blob_bytes(records: Iterable[JournalRecord]) -> int | None:
    """What the records' images weigh: each blob their manifests list (config and layers)
    once, plus the manifests themselves. None when a manifest cannot be read."""
    blobs: dict[str, int] = {}
    total = 0
    for record in records:
        if record.kind == "untag":
            continue  # the manifest stays: nothing of it went
        try:
            manifest = Manifest.parse(record.manifest, record.digest, record.media_type)
        except ProtocolError:
            return None
        total += len(record.manifest)
        for blob in ([manifest.config] if manifest.config else []) + list(manifest.layers):
            blobs[blob.digest] = blob.size
    return total + sum(blobs.values())


def records_summary(records: Iterable[JournalRecord]) -> str:
    """``12 tags and 10 manifests in 3 repositories (team/api, team/web, ci/builds)``."""
    records = list(records)
    tags = sum(len(r.tags) for r in records)
    manifests = sum(1 for r in records if r.kind != "untag")
    repos = sorted({r.repository for r in records})
    what = plural(tags, "tag")
    if manifests:
        what += f" and {plural(manifests, 'manifest')}"
    if len(repos) == 1:
        return f"{what} in {clean(repos[0])}"
    names = ", ".join(clean(r) for r in repos[:SHOWN_NAMES])
    more = ", …" if len(repos) > SHOWN_NAMES else ""
    return f"{what} in {len(repos)} repositories ({names}{more})"


def _state(batch: Batch, narrow: bool) -> Text:
    state = batch.state
    if narrow:
        word = {"restored": "yes", "partly restored": "partly", "not restored": "no"}[state]
    else:
        word = state
    style = {"restored": "green", "partly restored": "yellow"}.get(state, "")
    return Text(word, style=style)


def _where(batch: Batch, width: int) -> str:
    repos = batch.repositories
    if len(repos) == 1:
        name = clean(repos[0])
        return name if len(name) <= width else name[: width - 1] + "…"
    return f"{len(repos)} repos" if width < 16 else f"{len(repos)} repositories"


# (header, width) of each column; "where" takes what is left
WIDE = (("when", 16), ("where", 0), ("tags", 6), ("manifests", 9), ("size", 10), ("restored", 15))
SHORT = (("when", 11), ("where", 0), ("tags", 5), ("mfst", 4), ("size", 9), ("restored", 8))


def _columns(width: int, narrow: bool) -> list[tuple[str, int]]:
    columns = SHORT if narrow else WIDE
    fixed = sum(w for _, w in columns) + len(columns) - 1
    return [(name, w or max(8, width - fixed)) for name, w in columns]


def _line(cells: list[tuple[Text | str, int, bool]]) -> Text:
    """Cells padded to their widths (right-aligned when asked), one space apart."""
    line = Text(no_wrap=True, overflow="ellipsis")
    for n, (cell, width, right) in enumerate(cells):
        text = cell if isinstance(cell, Text) else Text(cell)
        text.truncate(width, overflow="ellipsis")
        pad = " " * (width - text.cell_len)
        if n:
            line.append(" ")
        line.append_text(Text(pad) + text if right else text + Text(pad))
    return line


def header_line(width: int, narrow: bool) -> Text:
    cells = [
        (name, w, name not in ("when", "where", "restored")) for name, w in _columns(width, narrow)
    ]
    line = _line([(Text(n, style="bold"), w, right) for n, w, right in cells])
    return line


def batch_line(batch: Batch, width: int, narrow: bool, size: int | None) -> Text:
    """One row; ``size``: :func:`blob_bytes` of its records (None: unknown, left blank)."""
    widths = dict(_columns(width, narrow))
    return _line(
        [
            (batch_time(batch, short=narrow), widths["when"], False),
            (_where(batch, widths["where"]), widths["where"], False),
            (f"{batch.tag_count:,}", widths["tags"], True),
            (f"{len(batch.deleted):,}", widths["mfst" if narrow else "manifests"], True),
            ("" if size is None else human_size(size), widths["size"], True),
            (_state(batch, narrow), widths["restored"], False),
        ]
    )


class JournalScreen(ModalScreen[str | None]):
    """This registry's batches, newest first; dismisses with the batch id to restore (after
    the confirmation), or None."""

    DEFAULT_CSS = """
    JournalScreen {
        align: center middle;
        background: $background 60%;
    }
    #journal-box {
        width: 90%;
        max-width: 110;
        height: auto;
        max-height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    #journal-title, #journal-header, #journal-note { height: auto; }
    #journal-list { height: auto; border: none; padding: 0; }
    #journal-note { border-top: hkey $primary 40%; }
    """

    BINDINGS = [
        Binding(
            "enter,u",
            "restore",
            "Restore",
            tooltip="Restore the selected batch (asks first)",
            id="journal.restore",
        ),
        Binding("escape,q,J", "close", "Close", id="journal.close"),
    ]

    def __init__(
        self, batches: list[Batch], registry: str, *, check: Callable[[], bool] = lambda: True
    ) -> None:
        """``check()``: can a batch be restored now (else it said why)?"""
        super().__init__()
        self.batches = batches
        self.registry = registry
        self.check = check
        # read once: a resize redraws the rows, not every journaled manifest
        self.sizes = {b.id: blob_bytes(b.records) for b in batches}

    def compose(self) -> ComposeResult:
        with Vertical(id="journal-box"):
            yield Static(id="journal-title")
            yield Static(id="journal-header")
            yield OptionList(id="journal-list")
            yield Static(id="journal-note")
        yield DregFooter()

    def on_mount(self) -> None:
        title = Text("Deletions", style="bold")
        title.append(f"  {clean(self.registry)}", style="dim")
        if self.app.size.width >= NARROW:
            title.append(" · newest first", style="dim")
        self.query_one("#journal-title", Static).update(title)
        note = Text(
            "size: the deleted images' blobs, each once (garbage collection frees only those "
            "no other image uses). A batch can be restored until the garbage collector runs.",
            style="dim",
        )
        self.query_one("#journal-note", Static).update(note)
        self._draw()
        self.query_one("#journal-list").focus()

    def on_resize(self) -> None:
        self._draw()

    def _fit(self) -> None:
        """The list takes what the box has left (the note stays in view at 80x24)."""
        box = self.query_one("#journal-box")
        listing = self.query_one("#journal-list", OptionList)
        docked = sum(w.outer_size.height for w in self.children if w.styles.dock == "bottom")
        most = int((self.size.height - docked) * SHARE)  # as the box's max-height: 90%
        frame = box.outer_size.height - box.content_region.height
        others = sum(w.outer_size.height for w in box.children if w is not listing)
        listing.styles.height = max(3, min(len(self.batches), most - frame - others))

    def _draw(self) -> None:
        narrow = self.app.size.width < NARROW
        width = min(int(self.app.size.width * 0.9), 110) - 4 - 2  # border, padding, scrollbar
        self.query_one("#journal-header", Static).update(header_line(width - 2, narrow))
        options = self.query_one("#journal-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(
            [
                Option(batch_line(b, width - 2, narrow, self.sizes[b.id]), id=b.id)
                for b in self.batches
            ]
        )
        if self.batches:
            options.highlighted = highlighted if highlighted is not None else 0
        self.call_after_refresh(self._fit)

    @property
    def selected(self) -> Batch | None:
        index = self.query_one("#journal-list", OptionList).highlighted
        return self.batches[index] if index is not None and self.batches else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_restore()

    def action_restore(self) -> None:
        batch = self.selected
        if batch is None:
            return
        if batch.is_restored:
            self.notify(f"The deletion of {batch_time(batch)} was restored already.", markup=False)
            return
        if not self.check():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(batch.id)

        self.app.push_screen(RestoreConfirmScreen(batch), answered)

    def action_close(self) -> None:
        self.dismiss(None)


class RestoreConfirmScreen(ModalScreen[bool]):
    """``Restore the deletion of 2026-12-07 14:03?`` with what comes back; y or n."""

    DEFAULT_CSS = """
    RestoreConfirmScreen {
        align: center middle;
        background: $background 60%;
    }
    #restore-box {
        width: 70;
        max-width: 95%;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    #restore-what { margin-top: 1; height: auto; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Restore", tooltip="Restore the batch", id="restore.yes"),
        Binding("n,escape", "answer(False)", "Keep as it is", id="restore.no"),
    ]

    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.chosen = batch

    def compose(self) -> ComposeResult:
        batch = self.chosen
        with Vertical(id="restore-box"):
            yield Static(
                Text(f"Restore the deletion of {batch_time(batch)}?", style="bold"),
                id="restore-title",
            )
            what = Text(records_summary(batch.pending) + " come back.")
            done = len(batch.records) - len(batch.pending)
            if done:
                what.append(f" ({done} of its {len(batch.records)} manifests are back already.)")
            what.append(f"\nBatch {clean(batch.id)}. y restores, n keeps it as it is.", style="dim")
            yield Static(what, id="restore-what")
        yield DregFooter()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
