"""Dialog boxes as tall as their content, up to most of the screen; the middle part scrolls."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

SHARE = 0.9  # of the screen height, at most


def fit_body(screen: Screen[Any], box: str, body: str) -> None:
    """Give ``body`` (a scroll container in ``box``) the height the box has left for it."""
    container = screen.query_one(box)
    scroll = screen.query_one(body)
    docked = sum(w.outer_size.height for w in screen.children if w.styles.dock == "bottom")
    most = int((screen.size.height - docked) * SHARE)  # as the box's max-height: 90% resolves
    frame = container.outer_size.height - container.content_region.height  # border, padding
    others = sum(  # margins too: the choice block's margin-top once clipped the totals line
        w.outer_size.height + w.styles.margin.height
        for w in container.children
        if w is not scroll and w.display
    )
    scroll_frame = scroll.outer_size.height - scroll.scrollable_content_region.height
    room = max(most - frame - others, 3)
    content = max((w.outer_size.height for w in scroll.children), default=1)
    scroll.styles.height = min(content + scroll_frame, room)
