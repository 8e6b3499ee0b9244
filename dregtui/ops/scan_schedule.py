"""The order a scan's tasks run in, and when the next may start.

Workers take tasks repository by repository in catalog order (a repository the user opened
first), as many at once as the in-flight window has room for, in batches of the same kind.
``ScanSchedule`` holds that state; the Scanner (``scanner.py``) builds on it and does the
requests. Every method here is called with the scanner's lock (``_cond``) held.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator

from dregtui.core.inventory import TagInfo
from dregtui.ops.window import InFlightWindow
from dregtui.registry.client import RegistryClient

# Task kinds
LIST_TAGS, RESOLVE_TAGS, FETCH_BODIES, CATALOG_PAGE = 0, 1, 2, 3


class RepositoryScan:
    """One repository's part of a scan: its tasks not yet taken and the tags resolved so far."""

    __slots__ = ("name", "pending", "outstanding", "tags", "listing", "listed", "queued")

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: deque[tuple[int, str]] = deque()  # HEAD and BODY tasks not yet taken
        self.outstanding = 0  # HEAD tasks queued or running
        self.tags: dict[str, TagInfo] = {}
        self.listing = False  # its tag list was asked for
        self.listed = False  # ... and answered
        self.queued = False  # in the scanner's order of repositories with tasks


class ScanSchedule:
    """The scan's queues of tasks and its count of requests in flight."""

    client: RegistryClient
    window: InFlightWindow
    _cond: threading.Condition
    _cancel: threading.Event
    _states: dict[str, RepositoryScan]  # every repository of the scan
    _order: deque[str]  # repositories with HEAD or BODY tasks, in order
    _unlisted: deque[RepositoryScan]  # repositories whose tags are not asked for
    _urgent: deque[str]  # repositories the user opened, first first
    _pages: Iterator[list[str]] | None  # the catalog, while pages are left
    _catalog_busy: bool
    _catalog_done: bool
    _queued: int  # HEAD and BODY tasks not yet taken
    _running: int  # tasks running: requests in flight (one at a time each)

    def _reset_queue(self) -> None:
        self._states = {}
        self._order = deque()
        self._unlisted = deque()
        self._urgent = deque()
        self._pages = None
        self._catalog_busy = False
        self._catalog_done = False
        self._queued = 0
        self._running = 0

    def _next_task(self) -> tuple[RepositoryScan | None, int, list[str]] | None:
        """Called without the lock. Block until a task may start (one is ready and the window has room); None when
        the scan is over or cancelled."""
        with self._cond:
            while True:
                if self._cancel.is_set():
                    return None
                if self.window.limit - self._running >= self._step():
                    task = self._pick()
                    if task is not None:
                        self._running += len(task[2])
                        return task
                    if self._catalog_done and self._running == 0:
                        self._cond.notify_all()  # nothing left anywhere: every worker ends
                        return None
                self._cond.wait()

    def _take_list(self, state: RepositoryScan) -> tuple[RepositoryScan, int, list[str]]:
        state.listing = True
        return state, LIST_TAGS, [""]

    def _take(self, state: RepositoryScan) -> tuple[RepositoryScan, int, list[str]]:
        """The repository's next task, with as many more of the same kind as fit in one
        batch (``_step``) and go out together."""
        pending = state.pending
        kind, arg = pending.popleft()
        args = [arg]
        room = min(self._step(), self.window.limit - self._running)
        while len(args) < room and pending and pending[0][0] == kind:
            args.append(pending.popleft()[1])
        self._queued -= len(args)
        return state, kind, args

    def _pick(self) -> tuple[RepositoryScan | None, int, list[str]] | None:
        """Called with the lock held: the next task by priority, or None."""
        limit = self.window.limit
        urgent = self._urgent
        i = 0
        while i < len(urgent):  # a repository the user opened: its list, then its tags
            state = self._states[urgent[i]]
            if not state.listing:
                self._unlisted.remove(state)
                return self._take_list(state)
            if state.pending:
                return self._take(state)
            if state.listed:  # nothing left here (later index tasks requeue it)
                del urgent[i]
            else:  # its tag list is being fetched: look further
                i += 1
        pages_left = self._pages is not None and not self._catalog_busy
        if pages_left and len(self._unlisted) < limit:
            return self._take_page()
        if self._unlisted and self._queued < limit:  # tags run short: the next list now
            return self._take_list(self._unlisted.popleft())
        order = self._order
        while order:
            state = self._states[order[0]]
            if state.pending:
                return self._take(state)
            order.popleft()
            state.queued = False
        if self._unlisted:
            return self._take_list(self._unlisted.popleft())
        if pages_left:
            return self._take_page()
        return None

    def _take_page(self) -> tuple[RepositoryScan | None, int, list[str]]:
        self._catalog_busy = True
        return None, CATALOG_PAGE, [""]

    def _add_tasks(
        self, state: RepositoryScan, tasks: Iterable[tuple[int, str]], first: bool
    ) -> None:
        """Called with the lock held: queue ``state``'s new tasks and the repository itself
        if it was not: a listed one after the others (lists are taken in order, so tags are
        too), with ``first`` (an index's children) before its own tags and every repository."""
        before = len(state.pending)
        if first:
            state.pending.extendleft(tasks)
        else:
            state.pending.extend(tasks)
        self._queued += len(state.pending) - before
        if state.pending and not state.queued:
            state.queued = True
            if first:
                self._order.appendleft(state.name)
            else:
                self._order.append(state.name)

    def _wake(self) -> None:
        """Called with the lock held after a task: wake as many workers as can start now (the
        slots free and the tasks ready), not the whole window: waking every thread after each
        request to find nothing to do costs a scan CPU. When nothing runs any more,
        every worker looks (the scan may be over)."""
        if self._running == 0:
            self._cond.notify_all()
            return
        room = (self.window.limit - self._running) // self._step()
        ready = self._queued + len(self._unlisted) + len(self._urgent)
        ready += self._pages is not None and not self._catalog_busy
        if room > 0 and ready > 0:
            self._cond.notify(min(room, ready))

    def _step(self) -> int:
        """Called with the lock held: the slots of the window a worker waits for before it
        takes a task, the size of a batch (``_take``): the client's ``batch_size``, at most a
        quarter of the window (four batches at least in flight, faster than two larger ones:
        docs/performance.md), no more than the tasks
        queued."""
        return max(1, min(self.client.batch_size, self.window.limit // 4, self._queued))
