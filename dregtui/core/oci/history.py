"""How an image was built, from its config's ``history``: each step's instruction and, for a
step that made a layer, that layer's size.

A config lists one history entry per Dockerfile step; the steps that changed no files (ENV,
LABEL, CMD...) say ``empty_layer: true``. The other steps made the manifest's layers, in
order. When their number differs from the manifest's layer count, pairing them would put a
size on the wrong step: the history then keeps its steps, says so, and shows no sizes.

A config is registry data and can be big or hostile: at most ``MAX_STEPS`` steps are kept, each
instruction at most ``MAX_TEXT`` characters, control characters and escape sequences made
visible marks (:func:`dregtui.core.textsafe.clean`); a field of the wrong type counts as
missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dregtui.core.textsafe import clean_line

MAX_STEPS = 100  # steps kept of one config's history
MAX_TEXT = 240  # characters kept of one step's instruction

# What ``docker build`` and BuildKit wrap around an instruction, and what is left of it.
_NOP = re.compile(r"^/bin/(?:ba)?sh -c #\(nop\)\s*")  # classic builder, not a RUN
_ARGS = re.compile(r"^(?:RUN )?\|\d+(?: \S+=\S*)* (?=/bin/)")  # build args: |2 A=1 B=2 /bin/sh
_SHELL = re.compile(r"^(?:RUN )?/bin/(?:ba)?sh -c ")  # a RUN, classic or BuildKit
_BUILDKIT = re.compile(r"\s*# buildkit$")
_HEX = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{20,}\b")  # file:<64 hex> as file:<12 hex>…


@dataclass(frozen=True, slots=True)
class Step:
    """One step: its instruction, shortened; ``size`` its layer's bytes (None for an empty step,
    or when the history does not match the layers)."""

    created_by: str
    empty: bool
    size: int | None = None


@dataclass(frozen=True, slots=True)
class ImageHistory:
    """The steps kept (``MAX_STEPS`` at most) out of ``total``; ``note``: one sentence when
    sizes are not shown or there is no history; ``platform``: the platform image an index's
    history is of."""

    steps: tuple[Step, ...] = ()
    total: int = 0
    note: str = ""
    platform: str = ""

    @property
    def empty_steps(self) -> int:
        return sum(1 for step in self.steps if step.empty)


def shorten_instruction(created_by: str) -> str:
    """A ``created_by`` as the Dockerfile said it: ``/bin/sh -c #(nop)  CMD ["sh"]`` is
    ``CMD ["sh"]``, ``/bin/sh -c apk add x`` and BuildKit's ``RUN /bin/sh -c apk add x #
    buildkit`` are ``RUN apk add x``. One safe line, at most ``MAX_TEXT`` characters."""
    text = clean_line(created_by[: MAX_TEXT * 4])
    text = _BUILDKIT.sub("", text)
    if _NOP.match(text):
        text = _NOP.sub("", text)
    else:
        text = _ARGS.sub("", text)
        text = _SHELL.sub("RUN ", text)
    return clean_line(_HEX.sub(r"\1…", text), MAX_TEXT)


def parse_history(config: bytes | dict[str, Any], layer_sizes: list[int]) -> ImageHistory:
    """The history of a config (its bytes or parsed document), its steps that made a layer
    paired with ``layer_sizes`` (the manifest's layers, in order)."""
    doc = config
    if isinstance(config, bytes | bytearray):
        try:
            doc = json.loads(config)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return ImageHistory(note="The image config is not JSON.")
    entries = doc.get("history") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        return ImageHistory(note="The image config records no history.")
    steps: list[Step] = []
    made = 0  # steps that made a layer, all of them (not only those kept)
    for entry in entries:
        item = entry if isinstance(entry, dict) else {}
        empty = item.get("empty_layer") is True
        if not empty:
            made += 1
        if len(steps) < MAX_STEPS:
            created_by = item.get("created_by")
            text = shorten_instruction(created_by) if isinstance(created_by, str) else ""
            steps.append(Step(text or "(no instruction recorded)", empty))
    if made != len(layer_sizes):
        note = (
            f"The history names {made} layer step(s), the manifest has {len(layer_sizes)} "
            "layer(s): sizes not shown."
        )
        return ImageHistory(tuple(steps), len(entries), note)
    sizes = iter(layer_sizes)
    paired = tuple(
        step if step.empty else Step(step.created_by, False, next(sizes)) for step in steps
    )
    return ImageHistory(paired, len(entries))
