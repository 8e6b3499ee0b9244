"""The one sanitizer for registry text (dregtui/core/textsafe.py), and that the CLI and TUI use it."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from support.fake_server import json_reply, manifest_reply, serve_manifest

from dregtui.cli import progress
from dregtui.core import textsafe
from dregtui.core.oci.mediatypes import OCI_MANIFEST
from dregtui.registry import errors
from dregtui.tui import text

UNSAFE = textsafe.UNSAFE
# Text rich in the characters that matter: escapes, C1, bidi controls, line breaks.
_ALPHABET = st.sampled_from(
    sorted(UNSAFE) + list("[]0;m\\PX^_a1 ") + ["\x07", "\x1b", "\x9b", "\x9c", "é", "\ufffd"]
)
hostile = st.one_of(st.text(_ALPHABET, max_size=40), st.text(max_size=40))


@settings(max_examples=400, deadline=None)
@given(hostile)
def test_clean_output_holds_no_unsafe_code_point_and_is_idempotent(value: str) -> None:
    out = textsafe.clean(value)
    assert not UNSAFE & set(out), repr(out)
    assert textsafe.clean(out) == out
    line = textsafe.clean_line(value, 30)
    assert not UNSAFE & set(line) and len(line) <= 30
    assert textsafe.clean_line(line, 30) == line


@given(hostile)
def test_the_three_old_cleaners_are_the_one_sanitizer(value: str) -> None:
    assert progress.clean(value) == text.clean(value) == textsafe.clean(value)
    assert errors.clean_text(value) == textsafe.clean_line(value, 200)


def test_sequences_and_controls_each_leave_one_mark() -> None:
    mark = "\ufffd"
    assert textsafe.clean("a\x1b[31mb") == f"a{mark}b"
    assert textsafe.clean("a\x9b31mb") == f"a{mark}b"  # 8-bit CSI
    assert textsafe.clean("a\x1b]0;title\x07b") == f"a{mark}b"  # OSC ... BEL
    assert textsafe.clean("a\x1b]8;;http://x\x1b\\b") == f"a{mark}b"  # OSC ... ST
    assert textsafe.clean("a\x1bPq#0\x1b\\b") == f"a{mark}b"  # DCS
    assert textsafe.clean("a\x1b]0;never ends") == f"a{mark}"
    assert textsafe.clean("abc\u202edef\u2066") == f"abc{mark}def{mark}"
    assert textsafe.clean("a\tb\nc\r\u2028d") == "a b c  d"
    assert textsafe.clean("\x00\x7f\x85") == mark * 3
    assert textsafe.clean("plain/app:1.0") == "plain/app:1.0"


def test_cli_output_of_hostile_names_holds_no_c1_or_bidi(fake_registry, run_cli):
    # progress.clean let the 8-bit CSI (\x9b) and U+202E through to stdout
    names = ["a\x9b2Jb", "rtl\u202etxt.exe", "ok"]
    fake_registry.route("GET", "/v2/_catalog", json_reply({"repositories": names}))
    for name in names:
        path = "/v2/" + quote(name, safe="/")
        fake_registry.route("GET", f"{path}/tags/list", json_reply({"tags": ["1.0"]}))
        serve_manifest(fake_registry, f"{path}/manifests/1.0", manifest_reply(OCI_MANIFEST))
    r = run_cli("-reg", fake_registry.url, "-c", "None", "list-repo-names")
    assert r.code == 0, r
    assert r.lines == ["a\ufffdb", "ok", "rtl\ufffdtxt.exe"]
    assert not UNSAFE & (set(r.out + r.err) - {"\n"})
