"""Old home of the tag order: everything now lives in :mod:`dregtui.tags` (same functions)."""

from __future__ import annotations

from dregtui.tags import parse_version, sort_key, sort_tags

version_key = sort_key

__all__ = ["parse_version", "sort_key", "sort_tags", "version_key"]
