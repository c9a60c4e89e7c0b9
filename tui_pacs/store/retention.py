"""Retention (the DBx auto-delete): keep N days and/or stay under a quota, oldest studies first."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tui_pacs.domain.attributes import Level
from tui_pacs.store.archive import Archive
from tui_pacs.store.query import Query

log = logging.getLogger(__name__)


@dataclass
class PruneReport:
    deleted_studies: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def plan_prune(archive: Archive, *, retention_days: int | None, quota_bytes: int | None,
               now: datetime | None = None) -> list[tuple[str, int]]:
    """The studies retention would delete, oldest first, as (Study Instance UID, bytes)."""
    studies = archive.index.studies_oldest_first()
    chosen: list[tuple[str, int]] = []
    remaining = sum(size for _uid, _when, size in studies)
    cutoff = None
    if retention_days is not None:
        moment = now or datetime.now(UTC)
        cutoff = (moment - timedelta(days=retention_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for uid, received_at, size in studies:
        too_old = cutoff is not None and received_at < cutoff
        over_quota = quota_bytes is not None and remaining > quota_bytes
        if not (too_old or over_quota):
            break  # studies are oldest first: nothing later is older, and the quota is met
        chosen.append((uid, size))
        remaining -= size
    return chosen


def prune(archive: Archive, *, retention_days: int | None, quota_bytes: int | None,
          dry_run: bool = False, now: datetime | None = None) -> PruneReport:
    """Delete what :func:`plan_prune` chooses (rows first, then files)."""
    report = PruneReport()
    for uid, size in plan_prune(archive, retention_days=retention_days, quota_bytes=quota_bytes, now=now):
        if not dry_run:
            paths = archive.index.delete(Query(Level.STUDY, {"StudyInstanceUID": uid}))
            archive.delete_paths(paths)
            log.info("retention deleted study %s (%d bytes)", uid, size)
        report.deleted_studies.append(uid)
        report.freed_bytes += size
    return report
