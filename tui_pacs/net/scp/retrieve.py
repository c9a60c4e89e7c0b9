"""What C-MOVE and C-GET share: resolving an identifier to the files to send, and sending them.

PS3.4 C.4.2.2.1 / C.4.3.2.1: the identifier holds unique keys (lists of
UIDs allowed) at and above the retrieve level; every instance under the
matching entities is a sub-operation. A file goes as stored when the
destination accepted its transfer syntax; otherwise it is converted to an
uncompressed little endian syntax the destination accepted (decompressed,
or byte-swapped from big endian; :mod:`tui_pacs.net.conversion`, as the
C-STORE SCU does). With no usable context it is a failed sub-operation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID

from tui_pacs.domain.attributes import Level
from tui_pacs.net.conversion import context_for, convert
from tui_pacs.net.errors import NoPresentationContext
from tui_pacs.net.fastpath.dimse import SubOperationCounts, take_sub_operation_counts
from tui_pacs.net.scp.base import ScpContext
from tui_pacs.net.scp.identifiers import retrieve_query, root_of
from tui_pacs.net.scu.association import sends_stored_bytes
from tui_pacs.net.scu.part10 import StoredReference

log = logging.getLogger(__name__)

PENDING = 0xFF00
CANCEL = 0xFE00
SUCCESS = 0x0000
UNABLE_TO_PROCESS = 0xC000
IDENTIFIER_MISMATCH = 0xA900
UNABLE_TO_PERFORM_SUB_OPERATIONS = 0xA702
SUB_OPERATIONS_WITH_FAILURES = 0xB000
MOVE_DESTINATION_UNKNOWN = 0xA801


@dataclass(frozen=True)
class Match:
    """One instance to send."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax: str
    path: str


@dataclass(frozen=True)
class RetrieveRequest:
    level: Level
    matches: tuple[Match, ...]


def resolve(event: Any, ctx: ScpContext) -> RetrieveRequest:
    """Parse the identifier and list the instances to send (raises IdentifierError)."""
    query = retrieve_query(event.identifier, root_of(event.context.abstract_syntax))
    rows = ctx.archive.index.instance_files(query)
    return RetrieveRequest(query.level, tuple(Match(*row) for row in rows))


SubAssociation = Callable[[], Any]
"""The association the sub-operations go over, once it is established (None before)."""


def load(match: Match) -> Dataset | str:
    """The stored instance as read; a string (the reason) counts as a failed sub-operation."""
    try:
        return dcmread(match.path)
    except Exception as exc:  # noqa: BLE001 - any reader failure fails this sub-operation only
        log.error("cannot read stored instance %s: %s", match.sop_instance_uid, exc)
        return f"unreadable {match.sop_instance_uid}"


def prepare(match: Match, assoc: Any) -> Dataset | str:
    """The stored instance in a syntax the destination accepted, or why it cannot be sent.

    When ``assoc`` sends stored bytes (:func:`~tui_pacs.net.scu.association.sends_stored_bytes`),
    an instance going in the syntax it is stored in is not read here: a
    :class:`~tui_pacs.net.scu.part10.StoredReference` stands in for it.
    """
    try:
        if assoc is None:
            raise NoPresentationContext("the destination's association was not established")
        context, decompress = context_for(assoc, match.sop_class_uid, match.transfer_syntax)
    except NoPresentationContext as exc:
        log.warning("cannot send %s: %s", match.sop_instance_uid, exc.message)
        return f"no accepted context for {match.sop_instance_uid}"
    if sends_stored_bytes(assoc) and not decompress and str(context.transfer_syntax[0]) == match.transfer_syntax:
        return StoredReference(str(match.path), match.sop_class_uid, match.sop_instance_uid, match.transfer_syntax)
    dataset = load(match)
    if isinstance(dataset, str):
        return dataset
    target = str(context.transfer_syntax[0])
    try:
        convert(dataset, decompress, target)
    except Exception as exc:  # noqa: BLE001 - a codec failure fails this sub-operation only
        log.error("cannot convert %s from %s to %s: %s", match.sop_instance_uid,
                  UID(match.transfer_syntax).name, UID(target).name, exc)
        return f"cannot convert {match.sop_instance_uid}"
    if target != match.transfer_syntax:
        log.debug("sending %s as %s (stored as %s)", match.sop_instance_uid, UID(target).name,
                 UID(match.transfer_syntax).name)
    return dataset


NO_COUNTS = SubOperationCounts(0, 0, 0)


@dataclass(frozen=True)
class Outcome:
    """How a served C-MOVE or C-GET ended, for its :class:`~tui_pacs.domain.events.QueryServed`."""

    status: int
    """The final status (PS3.4 C.4.2.1.5 / C.4.3.1.5), as pynetdicom decides it from the counts."""
    counts: SubOperationCounts = NO_COUNTS

    def served(self) -> dict[str, Any]:
        """The fields of the QueryServed event it fills."""
        return {"status": self.status, "cancelled": self.status == CANCEL, **self.counts._asdict()}


def outcome_of(cancelled: bool, counts: SubOperationCounts | None, total: int) -> Outcome:
    """Cancel; Success; A702 when every sub-operation failed; B000 when some failed or warned."""
    if counts is None:
        return Outcome(CANCEL if cancelled else SUCCESS)
    if cancelled:
        status = CANCEL
    elif counts.failed and counts.failed == total:
        status = UNABLE_TO_PERFORM_SUB_OPERATIONS
    elif counts.failed or counts.warning:
        status = SUB_OPERATIONS_WITH_FAILURES
    else:
        status = SUCCESS
    return Outcome(status, counts)


def reported_sub_operations(event: Any, matches: tuple[Match, ...], association: SubAssociation,
                            report: Callable[[Outcome], None]) -> Iterator[tuple[int, Dataset | str | None]]:
    """:func:`sub_operations`, calling ``report(outcome)`` when the stream ends or is dropped.

    pynetdicom stops iterating after a Cancel status and ``event.is_cancelled``
    consumes the C-CANCEL, so cancellation is remembered from what was yielded.
    The counts are those of the last pending response sent to the requestor
    (:func:`~tui_pacs.net.fastpath.dimse.take_sub_operation_counts`): pynetdicom
    counts each sub-operation's C-STORE status itself and sends one after each.
    """
    cancelled = False
    take_sub_operation_counts(event.assoc)  # a previous retrieve's, on the same association
    try:
        for status, dataset in sub_operations(event, matches, association):
            cancelled = cancelled or status == CANCEL
            yield status, dataset
    finally:
        report(outcome_of(cancelled, take_sub_operation_counts(event.assoc), len(matches)))


def sub_operations(event: Any, matches: tuple[Match, ...],
                   association: SubAssociation) -> Iterator[tuple[int, Dataset | str | None]]:
    """Pending (status, dataset) pairs, ending with Cancel if the SCU cancels (C.4.2.3.1)."""
    for match in matches:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, prepare(match, association())
