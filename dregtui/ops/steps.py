"""What a long registry operation is doing now, for whoever shows its progress (UI-free).

A deletion reports its re-checks (every tag of a repository HEADed before its first change:
seconds on a big repository) and then each item done; a restore reports each record put back.
``on_step(Step)`` is called from worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

RECHECKING = "re-checking"
DELETING = "deleting"
RESTORING = "restoring"


@dataclass(frozen=True, slots=True)
class Step:
    """``phase`` (one of the names above), how far it is (``done`` of ``total``) and on what."""

    phase: str
    done: int
    total: int
    repository: str = ""
    digest: str = ""

    @property
    def label(self) -> str:
        """One line: ``re-checking 3,000 tags of ci/builds: 1,200 done`` or
        ``deleting 12/40: team/app @ sha256:0123456789ab``."""
        if self.phase == RECHECKING:
            if not self.repository:
                return f"re-checking the tags of {self.total:,} planned items…"
            return f"re-checking {self.total:,} tags of {self.repository}: {self.done:,} done"
        where = f": {self.repository} @ {self.digest[:19]}" if self.repository else "…"
        return f"{self.phase} {self.done:,}/{self.total:,}{where}"


OnStep = Callable[[Step], None]
