"""The digest pane's "build" rows: how an image was built, from its config's history.

Each step that made a layer on a line of its own, its layer's size in the label column (a long
instruction goes on for at most ``STEP_LINES`` lines, cut with an ellipsis); each run of steps
that made none (ENV, LABEL, CMD...) folded into one dim line naming them. The instructions came
from the registry: they are literal text here, never markup.
"""

from __future__ import annotations

import textwrap

from rich.text import Text

from dregtui.core.oci.history import ImageHistory, Step
from dregtui.core.textsafe import clean, shorten
from dregtui.tui.text import human_size

LABEL_W = 10  # as the digest pane's labels: the size goes in that column
STEP_LINES = 3  # lines one instruction may take


def _keyword(step: Step) -> str:
    word = step.created_by.split(" ", 1)[0]
    return word if word.isalpha() and word.isupper() else "step"


def _folded(empty: list[Step]) -> str:
    names = ", ".join(dict.fromkeys(_keyword(step) for step in empty))
    return f"+ {len(empty)} empty: {names}"


def _summary(history: ImageHistory) -> str:
    made = sum(1 for step in history.steps if not step.empty)
    layers = "1 layer" if made == 1 else f"{made} layers"
    of = f" (of {clean(history.platform)})" if history.platform else ""
    steps = "1 step" if history.total == 1 else f"{history.total:,} steps"
    return f"{steps}: {layers}, {history.empty_steps} empty{of}"


def _wrap(value: str, room: int, lines: int) -> list[str]:
    """``value`` in lines of ``room`` characters, broken between words where it can be, the
    last of ``lines`` cut with an ellipsis."""
    chunks = textwrap.wrap(value, room, break_on_hyphens=False) or [""]
    if len(chunks) > lines:
        chunks = chunks[: lines - 1] + [shorten(" ".join(chunks[lines - 1 :]), room)]
    return chunks


def build_text(history: ImageHistory, width: int) -> Text:
    """The rows for ``history`` in a pane ``width`` columns wide (labels included)."""
    text = Text(no_wrap=True, overflow="crop")
    room = max(width - LABEL_W, 20)

    def rows(label: str, value: str, style: str = "", lines: int = STEP_LINES) -> None:
        for number, chunk in enumerate(_wrap(value, room, lines)):
            text.append((label if number == 0 else "").rjust(LABEL_W - 1) + " ", style="bold")
            text.append(chunk + "\n", style=style)

    def label_row(value: str, style: str) -> None:
        for number, chunk in enumerate(_wrap(value, room, STEP_LINES)):
            text.append(("build" if number == 0 else "").ljust(LABEL_W), style="bold")
            text.append(chunk + "\n", style=style)

    if not history.steps:
        label_row(clean(history.note) or "no history recorded", "dim")
        text.rstrip()
        return text
    label_row(_summary(history), "dim")
    empty: list[Step] = []
    for step in history.steps:
        if step.empty:
            empty.append(step)
            continue
        if empty:
            rows("", _folded(empty), "dim", 2)
            empty = []
        rows(human_size(step.size) if step.size is not None else "?", step.created_by)
    if empty:
        rows("", _folded(empty), "dim", 2)
    if history.total > len(history.steps):
        rows("", f"… {history.total - len(history.steps):,} more steps not shown", "dim")
    if history.note:
        rows("", clean(history.note), "yellow")
    text.rstrip()
    return text
