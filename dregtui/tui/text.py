"""Text for the panes. Registry text is data: cleaned (``dregtui.core.textsafe.clean``, the one
sanitizer of escape sequences, controls and bidi) and never parsed as markup; sizes, digests
and tags are written one way everywhere, and fitted to columns by terminal cells.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from dregtui.core import space
from dregtui.core.textsafe import clean


def literal(value: object, style: str = "") -> Text:
    """A rich Text holding ``value`` literally (``[bold]`` stays ``[bold]``)."""
    return Text(clean(value), style=style, no_wrap=True, end="")


def human_size(size: int | None) -> str:
    """The one size format (binary units, as ``du`` prints them); '' when unknown."""
    return "" if size is None else space.human_size(size)


def counted(count: int, noun: str) -> str:
    """``1 mark``, ``2,772 marks``, ``3 repositories``: a count in the TUI's words."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {noun[:-1]}ies" if noun.endswith("y") else f"{count:,} {noun}s"


def short_digest(digest: str, length: int = 12) -> str:
    _, _, hexpart = digest.partition(":")
    return clean((hexpart or digest)[:length])


def tag_lines(tags: list[str], width: int, indent: int, first: int) -> list[str]:
    """``tags`` (cleaned, comma separated) wrapped for a line that has ``first`` columns left
    (``""`` first when that is too little) and continues on lines indented by ``indent``, at most
    ``width`` columns wide. Without a usable width: one line."""
    import textwrap

    joined = ", ".join(clean(t) for t in tags)
    if width <= 0 or len(joined) <= first:
        return [joined]
    pad = " " * indent
    if first < 16:
        return ["", *textwrap.wrap(joined, width, initial_indent=pad, subsequent_indent=pad)]
    lines = textwrap.wrap(
        joined, width, initial_indent="\0" * (width - first), subsequent_indent=pad
    )
    return [lines[0].lstrip("\0"), *lines[1:]]


def frees_text(n: int, *, known: bool = True, exact: bool = False) -> str:
    """What garbage-collect frees afterwards: exact when counted in the registry's storage,
    else with the caveat the HTTP API cannot remove (and that it is at least this when some
    manifests' sizes are unknown)."""
    if exact:
        return (
            f"garbage-collect then frees {space.human_size(n)} (exact: counted in the "
            "registry's storage)"
        )
    if not known:
        return (
            f"garbage-collect then frees at least {space.human_size(n)} (some manifests' "
            "sizes are unknown)"
        )
    return (
        f"garbage-collect then frees {space.human_size(n)} (an upper bound if the registry "
        "holds untagged manifests)"
    )


def fit_cells(text: str, width: int) -> str:
    """``text`` in exactly ``width`` terminal cells (wide characters count two): padded with
    spaces, or cut in the middle with an ellipsis so that the end stays too (build numbers,
    .sig suffixes)."""
    size = cell_len(text)
    if size <= width:
        return text + " " * (width - size)
    tail = min(8, width // 3)
    if not tail:
        return set_cell_size(text, width)
    end = ""
    for char in reversed(text):  # the last ``tail`` cells, whole characters only
        if cell_len(char + end) > tail:
            break
        end = char + end
    return set_cell_size(text, width - 1 - cell_len(end)) + "…" + end
