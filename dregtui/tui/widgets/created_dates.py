"""The created dates of a whole repository, for the tags pane's date order.

The tags pane loads the details of the rows it shows; the date order needs every tag's created
date. This loader fetches the missing ones, a few manifest requests at a time, in one worker
that esc, another order or another repository cancels. Details go into the session's cache;
:class:`~dregtui.tui.messages.DetailsLoaded` and
:class:`~dregtui.tui.messages.DatesProgress` bubble up from the pane that owns the loader.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial

from textual.widget import Widget
from textual.worker import get_current_worker

from dregtui.core.registry_api import RegistryAPI
from dregtui.ops.imagefacts import ImageFacts, image_facts
from dregtui.tui import messages as msg
from dregtui.tui.session import Session

DATE_JOBS = 16  # at most this many manifest requests at once for the date order
POST_EVERY = 0.5  # seconds between two batches of details posted to the panes


class CreatedDatesLoader:
    """Owned by a widget (the tags pane): its worker runs, and its messages leave, from there."""

    def __init__(
        self, owner: Widget, session: Session, client: RegistryAPI | None, *, jobs: int
    ) -> None:
        self.owner = owner
        self.session = session
        self.client = client
        self.jobs = jobs

    def load(self, repository: str) -> None:
        """Fetch the created dates of ``repository`` that are not in the cache yet (worker)."""
        if self.client is None or not repository:
            return
        tags = self.session.inventory.repositories.get(repository, {})
        missing = self.session.details.missing([i.digest for i in list(tags.values())])
        if missing:
            self.owner.run_worker(
                partial(self._fetch, repository, missing),
                name="created dates",
                group="dates",
                thread=True,
                exclusive=True,
                exit_on_error=False,
            )

    def cancel(self) -> bool:
        """Stop fetching dates; True if a fetch was running."""
        running = [w for w in self.owner.workers if w.group == "dates" and w.is_running]
        for worker in running:
            worker.cancel()
        return bool(running)

    def _fetch(self, repository: str, digests: list[str]) -> None:
        """Details of every digest, ``jobs`` requests at a time, until done or cancelled."""
        client = self.client
        assert client is not None
        post = self.owner.post_message
        worker = get_current_worker()
        todo = iter(digests)
        total, done = len(digests), 0
        batch: list[ImageFacts] = []
        sent = time.monotonic()
        post(msg.DatesProgress(repository, 0, total))
        jobs = max(1, min(self.jobs, DATE_JOBS))
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dregtui-dates")
        running: set[Future[ImageFacts]] = set()
        try:
            while not worker.is_cancelled:
                while len(running) < jobs and (digest := next(todo, None)):
                    running.add(pool.submit(image_facts, client, repository, digest))
                if not running:
                    break
                finished, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    details = future.result()  # errors are data (ImageFacts.error)
                    self.session.details.put(details)
                    batch.append(details)
                done += len(finished)
                if batch and (time.monotonic() - sent > POST_EVERY or not running):
                    post(msg.DetailsLoaded(batch))
                    post(msg.DatesProgress(repository, done, total))
                    batch, sent = [], time.monotonic()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if batch:
                post(msg.DetailsLoaded(batch))
            post(msg.DatesProgress(repository, done, total, finished=True))
