"""The shared-by panel (reverse lookup): every repository and tag sharing the digest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

from rich.text import Text
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from dregtui.core.inventory import TagRef
from dregtui.core.textsafe import clean
from dregtui.tui.reverse_lookup import ReverseLookup, reverse_lookup
from dregtui.tui.session import Session
from dregtui.tui.text import short_digest

FIRST_ROWS = 80  # rows listed at once (more than a screen shows)
MORE_ROWS = 500  # then this many after each paint
SIGNATURE = re.compile(r"^sha256-([0-9a-f]{12})[0-9a-f]{52}(\.\w+)$")


def short_tag(tag: str) -> str:
    """``sha256-<64 hex>.sig`` -> ``sha256-<12 hex>….sig``; other tags unchanged (cleaned)."""
    match = SIGNATURE.match(tag)
    return f"sha256-{match.group(1)}…{match.group(2)}" if match else clean(tag)


def _header(title: str, note: str = "") -> Content:
    """A group header (our own words, never registry text): accent and bold, not greyed out."""
    return Content.assemble((title, "bold $accent"), (f" · {note}" if note else "", "dim"))


class SharedByPanel(OptionList):
    """Group headers are disabled options (styled as headers); enter on a tag jumps to it."""

    # group headers are disabled options: shown as headers (see _header), not greyed out
    DEFAULT_CSS = """
    SharedByPanel > .option-list--option-disabled {
        color: $text;
    }
    """

    class Jump(Message):
        def __init__(self, repository: str, tag: str) -> None:
            super().__init__()
            self.repository = repository
            self.tag = tag

    def __init__(self, session: Session, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self._wanted: tuple[str, str | None] | None = None  # listed after the paint
        self._refs: dict[str, TagRef] = {}
        self._shown: ReverseLookup | None = None
        self._rows: Iterator[Option] = iter(())  # the options not listed yet

    def show_digest(self, repository: str, digest: str | None) -> None:
        """The tags sharing ``digest`` (seen from ``repository``). A digest a thousand tags
        share takes a while to list: it follows the paint of the panes a key changed, once for
        a burst of keys."""
        first = self._wanted is None
        self._wanted = (repository, digest)
        if first:
            self.call_after_refresh(self._show_wanted)

    def _show_wanted(self) -> None:
        wanted, self._wanted = self._wanted, None
        if wanted is None:
            return
        repository, digest = wanted
        inventory = self.session.inventory
        self.show(reverse_lookup(inventory, repository, digest) if digest else None)

    def show(self, lookup: ReverseLookup | None) -> None:
        if lookup == self._shown and self.option_count:
            return  # the same tags as shown (the cursor moved within them): nothing to redo
        self._shown = lookup
        self.clear_options()
        self._refs.clear()
        if lookup is None:
            self._rows = iter(())
            self.add_option(
                Option(
                    Text("Pick a tag: every tag sharing its digest shows here.", style="dim"),
                    disabled=True,
                )
            )
            return
        # a digest a thousand tags share: a screenful now, the rest after the paint (a keystroke
        # need not wait for rows it cannot see)
        self._rows = self._rows_of(lookup)
        self._add_rows(FIRST_ROWS)

    def _add_rows(self, count: int) -> None:
        batch = list(islice(self._rows, count))
        if not batch:
            return
        start = self.option_count
        self.add_options(batch)
        if self.highlighted is None:  # a visible cursor as soon as the panel has focus
            first = next((n for n, o in enumerate(batch) if not o.disabled), None)
            if first is not None:
                self.highlighted = start + first
        if len(batch) == count:
            self.call_after_refresh(self._add_rows, MORE_ROWS)

    def _rows_of(self, lookup: ReverseLookup) -> Iterator[Option]:
        groups = [
            ("same repository", "deleted too", lookup.same_repository),
            ("other repositories", "keep blobs", lookup.other_repositories),
            ("indexes using it", "need it", lookup.parent_tags),
            ("signatures", "go with it", lookup.signatures),
        ]
        for title, note, refs in groups:
            if not refs and title.startswith(("indexes", "signatures")):
                continue
            yield Option(_header(f"{title} ({len(refs)})", note), disabled=True)
            if not refs:
                yield Option(Text("  none", style="dim"), disabled=True)
            for ref in refs:
                key = f"r{len(self._refs)}"
                self._refs[key] = ref
                label = Text("  " + clean(ref.repository), no_wrap=True)
                label.append(":" + short_tag(ref.tag), style="bold")
                yield Option(label, id=key)
        if lookup.parent_indexes and not lookup.parent_tags:
            yield Option(_header("untagged indexes referencing it"), disabled=True)
            for parent in lookup.parent_indexes:
                yield Option(Text("  " + short_digest(parent, 20), style="dim"), disabled=True)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        ref = self._refs.get(event.option.id or "")
        if ref is not None:
            event.stop()
            self.post_message(self.Jump(ref.repository, ref.tag))
