"""A plan item's reason in the TUI's words: the confirmation's choices (``2`` delete them too,
``3`` untag only), never the command line's options (``--no-match-all-tags``, ``--untag``).

The plan says why with a code (:class:`~dregtui.core.plan_model.Why`); the command line puts it
into its words (:attr:`PlanItem.reason`), the TUI into these. No Textual here.
"""

from __future__ import annotations

from dregtui.core.plan_model import Action, PlanItem, Why
from dregtui.core.textsafe import clean

# The confirmation's choices 2 and 3, as its keys' labels name them.
DELETE_TOO = "delete them too"
UNTAG_ONLY = "untag only"


def choice(number: int) -> str:
    """``2 (delete them too)``, ``3 (untag only)``."""
    return f"{number} ({DELETE_TOO if number == 2 else UNTAG_ONLY})"


def tui_reason(item: PlanItem, *, after: bool = False) -> str:
    """Why an item is skipped or changed; '' when the confirmation's lines above it already
    say it. ``after``: for the result screen, once the choice is past (it names the unmarked
    tags, and says to press d again)."""
    others = ", ".join(clean(t) for t in item.intersecting_tags)
    press = "d, then" if after else "press"
    match item.why:
        case Why.ALL_SELECTED | Why.DELETE_INTERSECTING | Why.UNTAG_INTERSECTING:
            return ""  # the tags line and "(they go too)" / "(they stay)" say it
        case Why.INTERSECTING:
            said = f"also tagged {others}, not marked: " if after else "skipped: "
            return f"{said}{press} {choice(2)} or {choice(3)}"
        case Why.TAGGED_PARENT:
            parent = item.parent_indexes[0].partition(":")[2][:12] if item.parent_indexes else "?"
            return (
                f"skipped: the tagged index {clean(parent)} still references this manifest; "
                f"mark the index too, or {press} {choice(3)}"
            )
        case Why.TAGGED_PARENT_UNTAG:
            return "a tagged index still references this manifest: only its tags go"
    return "" if item.action is Action.DELETE else clean(item.reason)
