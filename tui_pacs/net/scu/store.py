"""C-STORE of local instances to a node (Storage Service Class as SCU, PS3.4 Annex B).

Status handling follows the DBx table (see :mod:`.status`): B000, B006 and
B007 count as stored and are logged; any other non-success status aborts the
association and raises :class:`StoreRefused` naming the instance and status.

When the peer accepted the file's own transfer syntax (the usual case) the
data set goes out as the bytes after the file meta (:mod:`.part10`), with no
pydicom parse or re-encode, and the exchange is driven straight through the
DIMSE provider under :func:`.dimse_guard.exclusive` (PS3.7 9.1.1: a C-STORE
request is the command set, then the data set as it sits in the file).
Anything else (decompression, big endian or deflated conversion, a file
without usable meta) takes the pydicom path through ``send_c_store``, with
the conversion of :mod:`tui_pacs.net.conversion` (shared with the C-MOVE
and C-GET SCP).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from tui_pacs.config.model import RemoteNode
from tui_pacs.net.conversion import context_for, dataset_to_send
from tui_pacs.net.errors import Cancelled, StoreRefused
from tui_pacs.net.scu import dimse_guard, part10, store_request
from tui_pacs.net.scu.association import associate, make_ae, raise_no_response
from tui_pacs.net.scu.contexts import plan_store_contexts
from tui_pacs.net.scu.status import STORE_WARNINGS, SUCCESS, describe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreItem:
    """One local instance to send, as :meth:`Index.instance_files` gives it."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax: str
    path: str

    @classmethod
    def from_file(cls, path: str | Path) -> StoreItem:
        """The item for a Part 10 file, from its header only (pydicom errors propagate)."""
        ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"])
        return cls(str(ds.SOPInstanceUID), str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID), str(path))


@dataclass
class TransferCounts:
    """Progress of a transfer: what the queue stores in the job row."""

    total: int = 0
    completed: int = 0
    failed: int = 0
    warnings: int = 0
    bytes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(SOP Instance UID, reason) of each instance that did not arrive."""


ProgressCallback = Callable[[TransferCounts], None]


def send_c_store(calling_ae: str, node: RemoteNode, items: Sequence[StoreItem], *,
                 progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None,
                 skip: set[str] | None = None) -> TransferCounts:
    """Send ``items`` to ``node``; return the counts (raises on refusal, abort or timeout).

    ``skip`` holds SOP Instance UIDs already delivered by an earlier attempt
    of the same job; they are counted as completed without being sent.
    A file that cannot be read is counted as failed and the rest still go.
    """
    counts = TransferCounts(total=len(items))
    skip = skip or set()
    pending = [item for item in items if item.sop_instance_uid not in skip]
    counts.completed = len(items) - len(pending)
    ae = make_ae(calling_ae)
    for plan in plan_store_contexts((i.sop_class_uid, i.transfer_syntax) for i in pending):
        batch = [i for i in pending if i.sop_class_uid in plan.sop_classes]
        try:
            with associate(ae, node, plan.contexts) as assoc:
                for message_id, item in enumerate(batch, start=1):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(f"cancelled after {counts.completed} of {counts.total} instances")
                    _send_one(assoc, node, item, message_id % 0x10000 or 1, counts)
                    if progress is not None:
                        progress(counts)
        except BaseException:
            if progress is not None:
                progress(counts)  # the job row keeps how far it got
            raise
    return counts


def _send_one(assoc: object, node: RemoteNode, item: StoreItem, message_id: int,
              counts: TransferCounts) -> None:
    context, decompress = context_for(assoc, item.sop_class_uid, item.transfer_syntax)
    target_syntax = context.transfer_syntax[0]
    try:
        stored = None if decompress else part10.read_stored(item.path, target_syntax)
        dataset = dataset_to_send(item.path, decompress, target_syntax) if stored is None else None
    except (OSError, InvalidDicomError, ValueError, RuntimeError, NotImplementedError) as exc:
        log.warning("cannot send %s from %s: %s", item.sop_instance_uid, item.path, exc)
        counts.failed += 1
        counts.failures.append((item.sop_instance_uid, f"cannot read or decode the local file: {exc}"))
        return
    assert context.context_id is not None  # an accepted context always has its ID
    if stored is not None:
        answer = _send_stored(assoc, int(context.context_id), item, stored, message_id)
    else:  # our associations' send_c_store holds the DIMSE guard itself (association.guard_pynetdicom_stores)
        answer = StoreAnswer.of(assoc.send_c_store(dataset, msg_id=message_id))  # type: ignore[attr-defined]
    if answer.status is None:
        raise_no_response(assoc, node, f"C-STORE of {item.sop_instance_uid}")  # type: ignore[arg-type]
    status = answer.status
    if status == SUCCESS or status in STORE_WARNINGS:
        if status != SUCCESS:
            counts.warnings += 1
            log.warning("%s stored %s with warning %s", node.name, item.sop_instance_uid, describe(status))
        counts.completed += 1
        counts.bytes += _size(item.path)
        return
    counts.failed += 1
    reason = f"{node.name} refused {item.sop_instance_uid} with status {describe(status)}"
    counts.failures.append((item.sop_instance_uid, describe(status)))
    comment = answer.comment
    raise StoreRefused(f"{reason}{': ' + comment if comment else ''}", status=status,
                       sop_instance_uid=item.sop_instance_uid)


@dataclass(frozen=True)
class StoreAnswer:
    """What a C-STORE-RSP said: its Status (None when no valid response came) and Error Comment.

    pynetdicom hands back a pydicom Dataset built element by element for every
    response (``Association._check_received_status``); for the two values read
    here that was about a sixth of the sender's time per small instance.
    """

    status: int | None
    comment: str = ""

    @classmethod
    def of(cls, rsp: Dataset) -> StoreAnswer:
        """From pynetdicom's status Dataset (empty when no response came)."""
        if "Status" not in rsp:
            return cls(None)
        return cls(int(rsp.Status), str(rsp.get("ErrorComment") or ""))


def _send_stored(assoc: Any, context_id: int, item: StoreItem, stored: part10.StoredDataSet,
                 message_id: int) -> StoreAnswer:
    """One C-STORE exchange with the data set bytes as stored; its answer, without a status when
    no valid response came (the association is then aborted, as pynetdicom does)."""
    # The guard keeps the association's reactor thread off the DIMSE queue for the whole
    # exchange, so pynetdicom's pause handshake (and its 1 ms reactor sleep) is not needed.
    with dimse_guard.exclusive(assoc):
        rsp = store_request.exchange(assoc, context_id, stored.data_set, message_id=message_id,
                                     sop_class_uid=stored.sop_class_uid or item.sop_class_uid,
                                     sop_instance_uid=stored.sop_instance_uid or item.sop_instance_uid)
    if rsp is None:
        return StoreAnswer(None)
    if not rsp.is_valid_response:  # as pynetdicom's _check_received_status
        log.error("received an invalid C-STORE response from %s", assoc.acceptor.ae_title)
        assoc.abort()
        return StoreAnswer(None)
    return StoreAnswer(int(rsp.Status), str(rsp.ErrorComment or ""))


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size  # no Path object: this runs once per instance sent
    except OSError:
        return 0
