"""A one-line scan progress display on stderr (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from dregtui.core.textsafe import clean
from dregtui.ops.scanner import ScanProgress
from dregtui.ops.steps import Step

__all__ = ["ProgressLine", "StepLine", "format_duration", "format_progress"]


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_progress(p: ScanProgress, width: int = 100) -> str:
    text = (
        f"scanning: {p.repositories_done}/{p.repositories_total} repositories, "
        f"{p.tags_done}/{p.tags_total} tags, {p.rate:.0f} tags/s, ETA {format_duration(p.eta)}"
    )
    if p.current:
        text += "  " + clean(p.current)
    return text[: max(width - 1, 20)]


class _TerminalLine:
    """One line of a terminal, redrawn in place (only when the stream is a terminal);
    ``clear()`` removes it."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self.stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled
        self._drawn = False

    @staticmethod
    def width() -> int:
        try:
            import shutil

            return shutil.get_terminal_size((100, 24)).columns
        except OSError:
            return 100

    def draw(self, text: str) -> None:
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


class ProgressLine(_TerminalLine):
    """Draws ScanProgress on one line, at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        super().__init__(stream, enabled)
        self._last = 0.0

    def __call__(self, progress: ScanProgress) -> None:
        self.update(progress)

    def update(self, progress: ScanProgress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not progress.finished and now - self._last < 0.1:
            return
        self._last = now
        self.draw(format_progress(progress, self.width()))


class StepLine(_TerminalLine):
    """A deletion's or a restore's phase and count (``deleting 12/40: team/app @ sha256:…``),
    called from worker threads."""

    def __call__(self, step: Step) -> None:
        if self.enabled:
            self.draw(clean(step.label)[: self.width() - 1])
