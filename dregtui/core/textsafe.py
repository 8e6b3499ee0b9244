"""The one sanitizer for text that came from a registry (names, tags, digests, messages).

Standard library only, so every layer (registry client, CLI, TUI) can use it. ``clean`` turns
any value into one printable line that cannot drive a terminal or reorder what is shown:

- an ANSI escape sequence becomes one U+FFFD, whole: CSI (``ESC [`` or the 8-bit
  ``\\x9b`` ... final byte), OSC (``ESC ]`` or ``\\x9d`` ... BEL or ST) and the other
  string sequences DCS, SOS, PM, APC (``ESC P/X/^/_`` or ``\\x90/\\x98/\\x9e/\\x9f`` ...
  ST); an unterminated one runs to the end of the text, as it would in a terminal. A mark,
  not nothing: dropped silently, ``1.0 ESC[0m`` would pass for ``1.0`` in a deletion plan;
- tab, newline, carriage return, vertical tab, form feed and the Unicode line and paragraph
  separators become a space;
- every other C0 control, DEL, C1 control (``\\x80``-``\\x9f``) and the bidirectional
  controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) become U+FFFD, so the
  reader sees that something was there.

The result holds none of those code points, and ``clean(clean(x)) == clean(x)``.
"""

from __future__ import annotations

import re

_ST = r"(?:\x1b\\|\x9c)"
_SEQUENCE = re.compile(
    # CSI: parameter bytes, intermediate bytes, one final byte (or the end of the text).
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*(?:[@-~]|\Z)"
    # OSC: ends at BEL or ST (another ESC aborts it, as in a terminal).
    rf"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|{_ST}|(?=\x1b)|\Z)"
    # DCS, SOS, PM, APC: end at ST.
    rf"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:{_ST}|(?=\x1b)|\Z)"
)
_SPACE = "\t\n\r\x0b\x0c\u2028\u2029"
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Everything that must never reach the output (spaces included: they are replaced first).
UNSAFE = frozenset(
    [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)] + list(BIDI_CONTROLS)
) | frozenset(_SPACE)
_TABLE = {ord(ch): "\ufffd" for ch in UNSAFE} | {ord(ch): " " for ch in _SPACE}


def clean(value: object) -> str:
    """``value`` as one safe line: each escape sequence and each other control or bidi
    character as U+FFFD, line breaks and tabs as spaces. Idempotent."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and text.isascii():
        return text  # the common case: plain ASCII names, tags, digests
    return _SEQUENCE.sub("\ufffd", text).translate(_TABLE)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def clean_line(value: object, limit: int | None = None) -> str:
    """``clean`` with runs of spaces collapsed, no leading or trailing spaces, and at most
    ``limit`` characters (for details quoted inside a sentence)."""
    text = re.sub(" {2,}", " ", clean(value)).strip()
    return shorten(text, limit) if limit is not None else text
