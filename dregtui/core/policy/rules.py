"""Retention policy files: the rules a user states once, parsed and validated.

A policy is a TOML file (its own, or the ``[policy]`` table of the config file)::

    [defaults]                     # optional, for every rule
    protect = ["^release-"]        # regexes; `latest` and `stable` are always protected
    intersecting = "skip"          # a deleted tag on the image of a kept one: skip | untag

    [[rule]]
    name = "ci builds"
    repositories = ["ci/**"]       # globs: * within one path part, ** across parts
    exclude = ["ci/keep-*"]
    consider = ["^pr-", "^main-"]  # the tags this rule judges (regexes; default: all)
    keep_newer_than = "7d"
    delete_older_than = "30d"

    [[rule]]
    name = "releases"
    repositories = ["**"]
    keep = ["^v?[0-9]+\\.[0-9]+\\.[0-9]+$"]   # regexes of tags this rule keeps
    keep_last = 10                 # images (digests), ranked by rank_by: version | date
    keep_variants_separately = true

:func:`parse_policy` validates the text (unknown keys and bad values are :class:`PolicyError` with
the file, line and key named) without any request. Reading the file is
:func:`dregtui.state.policy_file.load_policy`; judging tags by the rules is
:func:`dregtui.core.policy.decisions.evaluate`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dregtui.core.documents import loads_toml
from dregtui.core.selectors import SelectorError, parse_duration, variant_matches

ALWAYS_PROTECTED = ("latest", "stable")
RULE_KEYS = {
    "name": str,
    "repositories": list,
    "exclude": list,
    "consider": list,
    "keep": list,
    "variants": list,
    "keep_last": int,
    "rank_by": str,
    "keep_newer_than": str,
    "delete_older_than": str,
    "keep_variants_separately": bool,
    "allow_empty": bool,
}
DEFAULT_KEYS = {"protect": list, "intersecting": str}
TOP_KEYS = {"defaults", "rule"}


class PolicyError(ValueError):
    """A policy file the user must fix: one sentence naming the file, line and key."""


# -- repository globs ---------------------------------------------------------------------------


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``team/*`` one path part; ``team/**`` everything below team (and team itself);
    ``**`` every repository; ``?`` one character."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(/.*)?")
            i += 3
        elif pattern.startswith("**/", i):
            out.append("(.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


# -- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    repositories: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    consider: tuple[re.Pattern[str], ...] = ()
    keep: tuple[re.Pattern[str], ...] = ()
    variants: tuple[str, ...] = ()
    keep_last: int | None = None
    rank_by: str = "version"
    keep_newer_than: timedelta | None = None
    delete_older_than: timedelta | None = None
    keep_variants_separately: bool = False
    allow_empty: bool = False
    globs: tuple[str, ...] = ()  # ``repositories`` as written (for messages)

    @property
    def needs_dates(self) -> bool:
        return (
            self.keep_newer_than is not None
            or self.delete_older_than is not None
            or (self.keep_last is not None and self.rank_by == "date")
        )

    def applies_to(self, repository: str) -> bool:
        return any(p.fullmatch(repository) for p in self.repositories) and not any(
            p.fullmatch(repository) for p in self.exclude
        )

    def considers(self, tag: str) -> bool:
        if self.consider and not any(p.search(tag) for p in self.consider):
            return False
        return not self.variants or variant_matches(self.variants, tag)


@dataclass(frozen=True)
class Policy:
    path: str
    rules: tuple[Rule, ...]
    protect: tuple[re.Pattern[str], ...] = ()
    intersecting: str = "skip"

    @property
    def needs_dates(self) -> bool:
        return any(r.needs_dates for r in self.rules)

    def protected(self, tag: str) -> bool:
        return tag in ALWAYS_PROTECTED or any(p.search(tag) for p in self.protect)


# -- loading ------------------------------------------------------------------------------------


class _Where:
    """Line numbers for keys: tomllib does not keep them, so the text is searched, table by
    table (the n-th ``[[rule]]`` header, then the key's first line after it)."""

    def __init__(self, path: str, text: str, prefix: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.prefix = prefix

    def _header(self, table: str, index: int) -> int:
        pattern = re.compile(rf"^\s*\[\[?\s*{re.escape(self.prefix + table)}\s*\]\]?\s*(#.*)?$")
        seen = -1
        for n, line in enumerate(self.lines):
            if pattern.match(line):
                seen += 1
                if seen == index:
                    return n
        return -1

    def line(self, table: str, index: int, key: str | None) -> int | None:
        start = self._header(table, index)
        if key is None:
            return start + 1 if start >= 0 else None
        key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for n in range(max(start, 0), len(self.lines)):
            if n > start >= 0 and self.lines[n].lstrip().startswith("["):
                break
            if key_re.match(self.lines[n]):
                return n + 1
        return start + 1 if start >= 0 else None

    def top(self, key: str, why: str) -> PolicyError:
        key_re = re.compile(
            rf"^\s*(\[\[?\s*{re.escape(self.prefix + key)}\b|\"?{re.escape(key)}\"?\s*=)"
        )
        line = next((n + 1 for n, text in enumerate(self.lines) if key_re.match(text)), None)
        where = f"{self.path}, line {line}" if line else self.path
        return PolicyError(f"{where}: {self.prefix}{key}: {why}")

    def error(self, table: str, index: int, key: str | None, why: str) -> PolicyError:
        line = self.line(table, index, key)
        where = f"{self.path}, line {line}" if line else self.path
        what = f"{table}[{index + 1}]" if table == "rule" else table
        if key:
            what += f".{key}"
        return PolicyError(f"{where}: {self.prefix}{what}: {why}")


def _regexes(
    values: list[Any], where: _Where, table: str, index: int, key: str
) -> tuple[re.Pattern[str], ...]:
    out = []
    for value in values:
        if not isinstance(value, str):
            raise where.error(table, index, key, f"{value!r} is not a string (a regex)")
        try:
            out.append(re.compile(value))
        except re.error as exc:
            raise where.error(
                table, index, key, f"{value!r} is not a valid regex ({exc})"
            ) from None
    return tuple(out)


def _checked(
    doc: Mapping[str, Any], allowed: Mapping[str, type], where: _Where, table: str, index: int
) -> None:
    for key, value in doc.items():
        kind = allowed.get(key)
        if kind is None:
            known = ", ".join(sorted(allowed))
            raise where.error(table, index, key, f"unknown key (known: {known})")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise where.error(table, index, key, f"{value!r} is not a whole number")
        if kind is not int and not isinstance(value, kind):
            raise where.error(table, index, key, f"{value!r} is not a {kind.__name__}")


def _duration(value: str, where: _Where, index: int, key: str) -> timedelta:
    try:
        return parse_duration(value, key)
    except SelectorError:
        raise where.error(
            "rule",
            index,
            key,
            f'{value!r} is not a duration (a number and a unit s, m, h, d or w, e.g. "30d")',
        ) from None


def _rule(doc: Mapping[str, Any], where: _Where, index: int) -> Rule:
    _checked(doc, RULE_KEYS, where, "rule", index)
    name = doc.get("name") or f"rule {index + 1}"
    repos = doc.get("repositories")
    if not repos:
        raise where.error("rule", index, None, "needs repositories = [...] (globs, ** for all)")
    for key in ("repositories", "exclude"):
        for value in doc.get(key, []):
            if not isinstance(value, str) or not value:
                raise where.error("rule", index, key, f"{value!r} is not a repository glob")
    keep_last = doc.get("keep_last")
    if keep_last is not None and keep_last < 0:  # no upper bound: more than there are keeps all
        raise where.error("rule", index, "keep_last", f"{keep_last} must be 0 or more")
    rank_by = doc.get("rank_by", "version")
    if rank_by not in ("version", "date"):
        raise where.error("rule", index, "rank_by", f'{rank_by!r}: use "version" or "date"')
    variants = doc.get("variants", [])
    for value in variants:
        if not isinstance(value, str) or not value:
            raise where.error("rule", index, "variants", f"{value!r} is not a variant")
    older = doc.get("delete_older_than")
    newer = doc.get("keep_newer_than")
    return Rule(
        name=str(name),
        repositories=tuple(glob_regex(p) for p in repos),
        exclude=tuple(glob_regex(p) for p in doc.get("exclude", [])),
        consider=_regexes(doc.get("consider", []), where, "rule", index, "consider"),
        keep=_regexes(doc.get("keep", []), where, "rule", index, "keep"),
        variants=tuple(variants),
        keep_last=keep_last,
        rank_by=rank_by,
        keep_newer_than=_duration(newer, where, index, "keep_newer_than") if newer else None,
        delete_older_than=_duration(older, where, index, "delete_older_than") if older else None,
        keep_variants_separately=bool(doc.get("keep_variants_separately", False)),
        allow_empty=bool(doc.get("allow_empty", False)),
        globs=tuple(repos),
    )


def parse_policy(text: str, path: str = "policy") -> Policy:
    try:
        doc = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc}).") from None
    prefix = ""
    if "policy" in doc and "rule" not in doc:  # the [policy] table of the config file
        if not isinstance(doc["policy"], dict):
            raise PolicyError(f"{path}: policy must be a table ([policy]).")
        doc, prefix = doc["policy"], "policy."
    where = _Where(path, text, prefix)
    for key in doc:
        if key not in TOP_KEYS:
            raise where.top(key, "unknown table or key (known: [defaults], [[rule]])")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise where.error("defaults", 0, None, "must be a table ([defaults])")
    _checked(defaults, DEFAULT_KEYS, where, "defaults", 0)
    intersecting = defaults.get("intersecting", "skip")
    if intersecting not in ("skip", "untag"):
        raise where.error("defaults", 0, "intersecting", f'{intersecting!r}: use "skip" or "untag"')
    rules_doc = doc.get("rule", [])
    if not isinstance(rules_doc, list) or not all(isinstance(r, dict) for r in rules_doc):
        raise where.error("rule", 0, None, "rules are tables: [[rule]]")
    if not rules_doc:
        raise PolicyError(f"{path}: no rules (add a [[{prefix}rule]] table).")
    rules = tuple(_rule(r, where, n) for n, r in enumerate(rules_doc))
    return Policy(
        path=path,
        rules=rules,
        protect=_regexes(defaults.get("protect", []), where, "defaults", 0, "protect"),
        intersecting=intersecting,
    )


def duration_text(delta: timedelta) -> str:
    """``30d``, ``12h``, ``90s``: a rule's duration as a policy file writes it."""
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds}s"
