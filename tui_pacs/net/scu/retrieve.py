"""What C-MOVE and C-GET share: retrieve identifiers and sub-operation counting (PS3.4 C.4.2, C.4.3).

A retrieve identifier may hold only unique keys (PS3.4 C.4.2.2.1), so keys
such as ``PatientName=DOE*`` are first resolved with a C-FIND into the
Study Instance UIDs they match; each study is then retrieved with its own
request so that one missing study does not hide the others' progress.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

from tui_pacs.config.model import RemoteNode
from tui_pacs.domain.attributes import Level, Root
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.domain.uids import require_uid
from tui_pacs.net.scu.find import RemoteQuery, find_all
from tui_pacs.net.scu.status import describe
from tui_pacs.net.scu.store import TransferCounts

log = logging.getLogger(__name__)

_UNIQUE = {Level.PATIENT: "PatientID", Level.STUDY: "StudyInstanceUID",
           Level.SERIES: "SeriesInstanceUID", Level.IMAGE: "SOPInstanceUID"}


@dataclass(frozen=True)
class RetrieveItem:
    """One C-MOVE/C-GET request: a level and the unique keys down to it."""

    level: Level
    keys: tuple[tuple[str, str], ...]

    def identifier(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level.value
        for keyword, value in self.keys:
            setattr(ds, keyword, value)
        return ds

    @property
    def label(self) -> str:
        return self.keys[-1][1]


def studies(uids: Sequence[str]) -> list[RetrieveItem]:
    """Retrieve items for whole studies (``--study UID``)."""
    return [RetrieveItem(Level.STUDY, (("StudyInstanceUID", require_uid(u, "Study Instance UID")),))
            for u in uids]


def resolve(calling_ae: str, node: RemoteNode, keys: Mapping[str, str], *,
            level: Level = Level.STUDY, root: Root = Root.STUDY) -> list[RetrieveItem]:
    """Turn matching keys into retrieve items with a C-FIND at ``level``."""
    if not keys:
        raise InvalidQuery("give --study UID or at least one -k KEYWORD=VALUE to select what to retrieve")
    wanted = [lvl for lvl in Level if lvl.depth <= level.depth and root.allows(lvl)]
    query_keys = dict(keys)
    for lvl in wanted:
        query_keys.setdefault(_UNIQUE[lvl], "")
    matches = find_all(calling_ae, node, RemoteQuery(level=level, root=root, keys=query_keys))
    items: list[RetrieveItem] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for match in matches:
        unique = tuple((_UNIQUE[lvl], str(match.get(_UNIQUE[lvl], ""))) for lvl in wanted)
        if not unique[-1][1] or unique in seen:
            continue
        seen.add(unique)
        items.append(RetrieveItem(level, unique))
    log.info("%d %s-level matches to retrieve from %s", len(items), level.value, node.name)
    return items


@dataclass
class SubOperations:
    """Running totals over several C-MOVE/C-GET requests, from their pending responses."""

    counts: TransferCounts
    done_before: int = 0
    failed_before: int = 0
    warnings_before: int = 0
    total_before: int = 0

    def update(self, status: Dataset) -> None:
        """Fold in one response's Number of Remaining/Completed/Failed/Warning Sub-operations."""
        remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
        completed = int(status.get("NumberOfCompletedSuboperations", 0) or 0)
        failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
        warning = int(status.get("NumberOfWarningSuboperations", 0) or 0)
        c = self.counts
        c.completed = self.done_before + completed + warning
        c.failed = self.failed_before + failed
        c.warnings = self.warnings_before + warning
        c.total = max(c.total, self.total_before + remaining + completed + failed + warning)

    def next_request(self) -> None:
        """Close one request's figures before the next request starts counting from zero."""
        c = self.counts
        self.done_before, self.failed_before, self.warnings_before = c.completed, c.failed, c.warnings
        c.total = max(c.total, c.completed + c.failed)
        self.total_before = c.total


def final_reason(node: RemoteNode, service: str, item: RetrieveItem, code: int, status: Dataset) -> str:
    """One line for a C-MOVE/C-GET that did not end in success."""
    comment = status.get("ErrorComment")
    failed_uids = status.get("FailedSOPInstanceUIDList")
    extra = f": {comment}" if comment else ""
    if failed_uids:
        extra += f" (failed: {failed_uids})"
    return f"{node.name} answered the {service} of {item.label} with {describe(code)}{extra}"
