"""Step 1 of a deletion (:mod:`dregtui.ops.execute`): the re-checks right before a change.

Each tag an item removes must still point at the planned digest; right before a repository's
first change every tag of it is HEADed (a *known* tag may have moved onto a planned digest since
the scan, and only a HEAD shows it), and before each DELETE a fresh tags/list adds the tags that
appeared since; the digest itself must resolve to a manifest. Every request goes out inside
``client.checking()``: on a connection of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.oci import mediatypes
from dregtui.core.plan_model import PlanItem
from dregtui.core.registry_api import RegistryAPI
from dregtui.core.tags import sort_tags
from dregtui.ops.steps import RECHECKING, OnStep, Step

# HEADs in flight while learning where every tag of a repository points, right before its
# first deletion (per repository, inside the run's own thread pool).
REFRESH_JOBS = 8


class Skip(Exception):
    """The registry changed since the scan: skip this item with this sentence."""


class Gone(Skip):
    """What the item removes is already gone (the inventory was updated)."""


class Rechecks:
    """The checks of a deletion run (mixed into the run, which holds these)."""

    client: RegistryAPI
    inventory: Inventory
    _now: dict[str, dict[str, str]]
    on_step: OnStep | None

    def repo_lock(self, repository: str) -> threading.RLock:
        raise NotImplementedError

    def _check_running(self) -> None:
        """Raise when the run was cancelled or stopped (the item is then not run)."""
        raise NotImplementedError

    def _head_all(self, repository: str, tags: Iterable[str]) -> dict[str, str]:
        """``tags`` -> the digest each points at now (HEADs, REFRESH_JOBS at a time)."""
        names = sorted(set(tags))
        if not names:
            return {}
        on_step = self.on_step
        lock = threading.Lock()
        done = [0]

        def head(tag: str) -> tuple[str, str | None]:
            # esc during the re-check of a big repository: the item is not run, at once (no
            # half-learned state is kept: ``_now`` is set only once every tag is known)
            self._check_running()
            with self.client.checking():  # this pool's threads too
                ref = self.client.head_manifest(repository, tag)
            if on_step is not None:
                with lock:  # in order: the count never goes back on screen
                    done[0] += 1
                    on_step(Step(RECHECKING, done[0], len(names), repository))
            return tag, None if ref is None else ref.digest

        with ThreadPoolExecutor(max_workers=min(REFRESH_JOBS, len(names))) as pool:
            return {tag: digest for tag, digest in pool.map(head, names) if digest is not None}

    def _tags_now(self, repository: str) -> dict[str, str]:
        """Every tag of ``repository`` -> its digest, as the registry answers right now.

        The first call per repository HEADs every listed tag (a known tag may have moved since
        the scan, and only a HEAD shows it); later calls list the tags again and HEAD only the
        names that are new. Call with the repository's lock held."""
        now = self._now.get(repository)
        listed = set(self.client.list_tags(repository) or [])
        if now is None:
            now = self._now[repository] = self._head_all(repository, listed)
            return now
        for tag in [t for t in now if t not in listed]:
            del now[tag]
        now.update(self._head_all(repository, listed - now.keys()))
        return now

    def _verify_tags(self, item: PlanItem, tags: Iterable[str]) -> list[str]:
        """Tags of ``tags`` still on the planned digest; Skip if one moved."""
        present = []
        for tag in tags:
            ref = self.client.head_manifest(item.repository, tag)
            if ref is None:
                continue
            if ref.digest != item.digest:
                # Remember the new target, so the saved cache lets the next run plan right.
                self.inventory.set_tag(item.repository, tag, TagInfo(ref.digest, ref.media_type))
                raise Skip(
                    f"{item.repository}:{tag} now points at {ref.digest}, not the planned "
                    f"{item.digest} (the registry changed since the scan; run again to plan "
                    "with the new state)"
                )
            present.append(tag)
        return present

    def _verify_no_other_tags(self, item: PlanItem, verified: Iterable[str]) -> list[str]:
        """Every tag now on the planned digest (a DELETE removes them all); Skip if one of
        them was not selected: a tag that moved onto the digest, or appeared, since the scan.
        Call with the repository's lock held, right before the DELETE."""
        now = self._tags_now(item.repository)
        for tag in verified:  # just HEADed by _verify_tags: the freshest answer
            now[tag] = item.digest
        on_digest = sorted(t for t, d in now.items() if d == item.digest)
        planned = set(item.tags_removed)
        unexpected = [t for t in on_digest if t not in planned]
        if unexpected:
            for tag in unexpected:
                # Remember the new target, so the saved cache lets the next run plan right.
                self.inventory.set_tag(item.repository, tag, TagInfo(item.digest, item.media_type))
            raise Skip(
                f"{item.repository}@{item.digest[:19]} is now also tagged "
                f"{', '.join(unexpected)} (not selected; it points there since the scan): "
                "run again to plan with it, or use --untag to remove only the selected tags"
            )
        return sort_tags(on_digest)

    def _verify_manifest(self, item: PlanItem) -> tuple[bytes, str]:
        ref = self.client.head_manifest(item.repository, item.digest)
        if ref is None:
            self.inventory.remove_digest(item.repository, item.digest)
            raise Gone(f"{item.repository}@{item.digest} is already gone")
        if ref.digest != item.digest or ref.media_type not in mediatypes.MANIFEST_TYPES:
            raise Skip(
                f"{item.repository}@{item.digest} does not resolve to a manifest "
                f"({ref.media_type or 'no media type'}): not deleting it"
            )
        manifest = self.client.get_manifest(item.repository, item.digest)
        return manifest.raw, manifest.media_type or ref.media_type

    def _forget_tags(self, item: PlanItem, tags: Iterable[str]) -> None:
        """The registry no longer has these tags: drop them from the inventory (cache)."""
        for tag in tags:
            info = self.inventory.tag_info(item.repository, tag)
            if info is not None and info.digest == item.digest:
                self.inventory.remove_tag(item.repository, tag)
