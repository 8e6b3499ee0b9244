"""Tags that look protected: names people deploy from (``latest``, ``stable``, ``main``...)
and the referrers' plumbing tags (signatures, attestations, SBOMs). Deleting one may be
meant, but it is never a thing to do without a word: the TUI's confirmation names them.

The list is short and explicit on purpose; it warns, it never blocks.
"""

from __future__ import annotations

import re

from dregtui.core.referrers import is_plumbing_tag

# Names people pull by, deploy from or branch from.
PROTECTED_NAMES = frozenset({"latest", "stable", "main", "master", "prod", "production"})
# release, release-2024, release_1, rel-3.2, 1.4-release ... (a release line, not a version)
RELEASE = re.compile(r"(?:(?:release|rel)(?:[-_.].*)?|.*[-_.]release)", re.IGNORECASE)


def protected_kind(tag: str) -> str:
    """Why ``tag`` looks protected ('name' or 'plumbing'), or '' when it does not."""
    if tag.lower() in PROTECTED_NAMES or RELEASE.fullmatch(tag):
        return "name"
    if is_plumbing_tag(tag):
        return "plumbing"
    return ""
