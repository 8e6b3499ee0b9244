"""What a run of :func:`dregtui.ops.execute.execute_plan` did, item by item: the status of each
planned item, the run's exit code and its JSON; :data:`RECLAIM_SPACE` is the advice to show after
deleting."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dregtui.core.plan_model import PlanItem

RECLAIM_SPACE = (
    "Deleting only unlinks manifests; to free the disk space run the registry's garbage "
    "collector: `registry garbage-collect /etc/docker/registry/config.yml` (Debian: "
    "`docker-registry garbage-collect ...`), with the registry stopped or in read-only mode "
    "(storage.maintenance.readonly.enabled: true) so no push races it. Until then "
    "`dregtui restore --last` can undo this."
)


class Status(StrEnum):
    DELETED = "deleted"
    UNTAGGED = "untagged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(slots=True)
class ItemResult:
    item: PlanItem
    status: Status
    message: str = ""
    removed_tags: list[str] = field(default_factory=list)
    gone: bool = False  # skipped because it was already gone: nothing left to do, not a safety skip

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.item.repository,
            "digest": self.item.digest,
            "status": self.status.value,
            "message": self.message,
            "removed_tags": self.removed_tags,
            "already_gone": self.gone,
        }


@dataclass(slots=True)
class ExecutionResult:
    batch: str
    results: list[ItemResult] = field(default_factory=list)
    not_run: list[PlanItem] = field(default_factory=list)
    cancelled: bool = False
    stopped: str | None = None  # why the whole run stopped (e.g. deletion disabled)

    def _with(self, status: Status) -> list[ItemResult]:
        return [r for r in self.results if r.status is status]

    @property
    def deleted(self) -> list[ItemResult]:
        return self._with(Status.DELETED)

    @property
    def untagged(self) -> list[ItemResult]:
        return self._with(Status.UNTAGGED)

    @property
    def skipped(self) -> list[ItemResult]:
        return self._with(Status.SKIPPED)

    @property
    def failed(self) -> list[ItemResult]:
        return self._with(Status.FAILED)

    @property
    def changed(self) -> bool:
        return bool(self.deleted or self.untagged)

    @property
    def exit_code(self) -> int:
        """0 all planned done, 1 errors (or stopped/cancelled), 3 some items skipped for safety.

        Items that were already gone (deleted by an earlier, interrupted run or by someone
        else) count as done."""
        if self.failed or self.stopped or self.cancelled or self.not_run:
            return 1
        return 3 if any(not r.gone for r in self.skipped) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "cancelled": self.cancelled,
            "stopped": self.stopped,
            "results": [r.to_json() for r in self.results],
            "not_run": [{"repository": i.repository, "digest": i.digest} for i in self.not_run],
        }
