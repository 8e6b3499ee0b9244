"""What the command line reads from the cache the TUI saved (tests of the TUI's cache writes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def cli_lister(
    run_cli: Callable[..., Any], url: str, repository: str = "team/app"
) -> Callable[[list[str]], None]:
    """``check(tags)``: the CLI, from the cache (no rescan), lists exactly these tags of
    ``repository`` and says the cache was updated since its scan."""

    def check(expected: list[str]) -> None:
        r = run_cli("-reg", url, "list-tag-names", repository)
        assert r.code == 0, r
        assert sorted(line.split()[-1] for line in r.lines) == expected
        assert r.err.startswith(f"dregtui: using the cache of {url} from ")  # no rescan
        assert "updated by a deletion or restore" in r.err

    return check
