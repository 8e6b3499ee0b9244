"""A repository's untagged manifests, listed like its tags: digest, size, created, and what
tag it was until when; space marks those nothing kept needs (the others say why they stay)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from dregtui.core.textsafe import clean
from dregtui.tui.session import Session
from dregtui.tui.text import human_size, short_digest
from dregtui.tui.untagged import UntaggedManifest, when

DIGEST_W = 12
SIZE_W = 9
DATE_W = 16


def header(width: int) -> str:
    """The column header, as the tags' header lines its columns up."""
    line = f"  {'digest':<{DIGEST_W}} {'size':>{SIZE_W}} {'created':<{DATE_W}} tag history"
    return line[:width] if width > 0 else line


def row_text(manifest: UntaggedManifest, marked: bool) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("● " if marked else "  ", style="bold red")
    text.append(short_digest(manifest.digest).ljust(DIGEST_W), style="" if marked else "dim")
    text.append(f" {human_size(manifest.size):>{SIZE_W}}")
    text.append(f" {when(manifest.linked):<{DATE_W}}", style="dim")
    if manifest.was:  # a tag's name as the storage holds it: data, cleaned
        text.append(f" {clean(manifest.was)}")
    if manifest.kept:
        text.append(f" {manifest.kept}", style="italic dim")
    return text


class UntaggedList(OptionList):
    """Shown in the tags pane in place of the tags while the tree's "untagged" node is
    chosen; the created column is when the revision was linked (read from the storage)."""

    DEFAULT_CSS = """
    UntaggedList, UntaggedList:focus {
        height: 1fr;
        border: none;
        padding: 0;
        background: transparent;
        scrollbar-size-vertical: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    UntaggedList > .option-list--option {
        padding: 0;
    }
    """

    BINDINGS = [
        Binding(
            "space",
            "toggle_mark",
            "Mark",
            tooltip="Mark / unmark the untagged manifest for deletion",
            id="untagged.mark",
        ),
        Binding("tab", "leave(1)", "Next pane", show=False, id="untagged.next_pane"),
        Binding("shift+tab", "leave(-1)", "Previous pane", show=False, id="untagged.previous"),
        Binding("j", "cursor_down", "Down", show=False, id="untagged.down"),
        Binding("k", "cursor_up", "Up", show=False, id="untagged.up"),
    ]

    class MarksChanged(Message):
        pass

    def __init__(self, session: Session, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.repository = ""
        self.manifests: tuple[UntaggedManifest, ...] = ()

    def show(self, repository: str) -> None:
        """The untagged manifests of ``repository`` as the storage was last read."""
        found = self.session.storage.untagged.get(repository)
        self.repository = repository
        self.manifests = found.manifests if found else ()
        self.redraw()

    def redraw(self) -> None:
        highlighted = self.highlighted
        marks = self.session.storage.marks
        self.clear_options()
        self.add_options(
            Option(row_text(m, (m.repository, m.digest) in marks), disabled=False)
            for m in self.manifests
        )
        if self.manifests:
            top = len(self.manifests) - 1
            self.highlighted = min(highlighted, top) if highlighted is not None else 0

    @property
    def current(self) -> UntaggedManifest | None:
        index = self.highlighted
        return self.manifests[index] if index is not None and index < len(self.manifests) else None

    def action_leave(self, step: int) -> None:
        """Tab on: the digest pane (the shared-by panel where it takes the digest's place on
        a narrow screen), or back to the tree."""
        targets = ["#repos"] if step < 0 else ["#digest", "#reverse"]
        for target in targets:
            pane = self.screen.query_one(target)
            if pane.display:
                pane.focus()
                return

    def action_toggle_mark(self) -> None:
        manifest = self.current
        if manifest is None:
            return
        if manifest.kept:
            self.notify(f"Not markable: {manifest.kept}.", severity="warning", markup=False)
            return
        self.session.storage.toggle(manifest.repository, manifest.digest)
        self.redraw()
        if self.highlighted is not None and self.highlighted < len(self.manifests) - 1:
            self.highlighted += 1  # as in the tags: space marks and moves on
        self.post_message(self.MarksChanged())
