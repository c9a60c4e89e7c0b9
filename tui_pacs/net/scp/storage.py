"""Storage SOP Classes as SCP (PS3.4 Annex B): durable store and index, then the status.

The data set is already in a temporary file when this handler runs, or, if
small, whole in memory (see :mod:`.chunked`). Here it is checked for what
earns a warning (:mod:`.received`: File Meta elements inside the data set are discarded,
B006; an image without the Image Pixel Module's Type 1 attributes is kept,
B007), its header parsed, checked against the presentation context, and
handed to :meth:`Archive.ingest_file`, which renames it into place (or
writes the bytes held in memory there), flushes
it to disk (one flush for every association's instances waiting at that
moment) and commits the index row. Only then is Success (or a
warning, which counts as stored) returned: a C-STORE-RSP Success means
"durably stored and findable" (PS3.4 B.2.3). Every failure removes the
temporary file.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import IntEnum
from typing import Any

from pydicom.dataset import Dataset

from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.domain.events import InstanceRefused, InstanceStored
from tui_pacs.domain.uids import is_valid_uid, printable
from tui_pacs.net.scp.base import ScpContext, answers_fast, association_id, peer_of
from tui_pacs.net.scp.chunked import ReceivedFile, received_file
from tui_pacs.net.scp.received import inspect
from tui_pacs.store.errors import NotDicom, OutOfResources
from tui_pacs.store.extract import Header, read_header
from tui_pacs.store.records import StoredInstance

log = logging.getLogger(__name__)


class StoreStatus(IntEnum):
    """C-STORE-RSP statuses (PS3.4 Table B.2-1, PS3.7 Annex C)."""

    SUCCESS = 0x0000
    OUT_OF_RESOURCES = 0xA700
    DATA_SET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
    CANNOT_UNDERSTAND = 0xC000
    PROCESSING_FAILURE = 0x0110
    COERCION_OF_DATA_ELEMENTS = 0xB000
    ELEMENTS_DISCARDED = 0xB006
    DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING = 0xB007


# When one instance earns several warnings, the response carries the weightiest.
_WARNING_RANK = (StoreStatus.DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING, StoreStatus.ELEMENTS_DISCARDED,
                 StoreStatus.COERCION_OF_DATA_ELEMENTS)


class StoreRefusal(TuiPacsError):
    """A C-STORE that fails with a specific status."""

    title = "C-STORE refused"

    def __init__(self, status: StoreStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _response(status: StoreStatus, comment: str) -> Dataset:
    rsp = Dataset()
    rsp.Status = int(status)
    rsp.ErrorComment = comment[:64]  # LO, PS3.7 C.5: at most 64 characters
    return rsp


def _received(event: Any) -> ReceivedFile:
    """The received file, written (chunked receive is always on for the SCP).

    A write that failed while the data set arrived raises here: OutOfResources
    (A700) for a full disk, another StoreError (0110) otherwise.
    """
    received = received_file(event, in_memory=True)
    if received is None:
        raise StoreRefusal(StoreStatus.PROCESSING_FAILURE, "chunked receive is not installed")
    return received


def _check_header(header: Header, abstract_syntax: str, affected_uid: str) -> None:
    """PS3.4 B.2.3: the data set's SOP Class must be the context's; its UID the command's."""
    sop_class = str(header.get("SOPClassUID", "")).strip("\x00 ")
    sop_uid = str(header.get("SOPInstanceUID", "")).strip("\x00 ")
    if not is_valid_uid(sop_uid):
        raise NotDicom(f"SOP Instance UID {printable(sop_uid)} is not a valid UID")
    if sop_class != abstract_syntax:
        raise StoreRefusal(StoreStatus.DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
                           f"SOP Class {printable(sop_class)} is not the context's {abstract_syntax}")
    if sop_uid != affected_uid:
        raise StoreRefusal(StoreStatus.CANNOT_UNDERSTAND,
                           "SOP Instance UID differs from the command's Affected SOP Instance UID")


def store_received(event: Any, ctx: ScpContext, source_ae: str) -> StoredInstance:
    """Durably store and index the data set of one C-STORE; raise on any failure."""
    with ctx.archive.group.arrival():
        return _store(event, ctx, source_ae, _received(event))


def _store(event: Any, ctx: ScpContext, source_ae: str, received: ReceivedFile) -> StoredInstance:
    context = event.context
    request = event.request
    path = received.path
    abstract_syntax, transfer_syntax = str(context.abstract_syntax), str(context.transfer_syntax)
    try:
        affected = str(request.AffectedSOPInstanceUID or "")
        inspection = inspect(path, abstract_syntax, transfer_syntax, content=received.content)
        warnings = inspection.warnings
        if inspection.rewritten:  # B006: the file at path, without some elements, is what to store
            received = ReceivedFile(path, path.stat().st_size)
        source = received.source
        header = inspection.header or read_header(source)
        _check_header(header, abstract_syntax, affected)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stored = ctx.archive.ingest_file(source, source_ae=source_ae, header=header,
                                     transfer_syntax=transfer_syntax, size=received.size)
    if warnings and not (stored.duplicate and not stored.replaced):  # an ignored duplicate kept the old file
        stored = replace(stored, warnings=(*stored.warnings, *warnings))
    return stored


def response_status(stored: StoredInstance) -> StoreStatus:
    """Success, or the weightiest warning of a stored instance (B007, then B006, then B000)."""
    statuses = {w.status for w in stored.warnings}
    if not statuses:
        return StoreStatus.SUCCESS
    return next((s for s in _WARNING_RANK if s in statuses), StoreStatus.COERCION_OF_DATA_ELEMENTS)


@answers_fast
def handle_c_store(event: Any, ctx: ScpContext) -> int | Dataset:
    """EVT_C_STORE: store, index, report; the status follows PS3.4 B.2.3."""
    peer = peer_of(event.assoc)
    number = association_id(event.assoc)
    raw_uid = str(getattr(event.request, "AffectedSOPInstanceUID", "") or "")
    affected = raw_uid if is_valid_uid(raw_uid) else printable(raw_uid, 64)
    try:
        stored = store_received(event, ctx, peer.ae_title)
    except OutOfResources as exc:
        return _refuse(ctx, number, peer.ae_title, affected, StoreStatus.OUT_OF_RESOURCES, exc.message)
    except NotDicom as exc:
        return _refuse(ctx, number, peer.ae_title, affected, StoreStatus.CANNOT_UNDERSTAND, exc.message)
    except StoreRefusal as exc:
        return _refuse(ctx, number, peer.ae_title, affected, exc.status, exc.message)
    except TuiPacsError as exc:
        return _refuse(ctx, number, peer.ae_title, affected, StoreStatus.PROCESSING_FAILURE, exc.message)
    except Exception as exc:
        log.exception("C-STORE of %s from %s failed", affected, peer)
        return _refuse(ctx, number, peer.ae_title, affected, StoreStatus.PROCESSING_FAILURE,
                       f"internal error: {type(exc).__name__}")
    status = response_status(stored)
    record = stored.record
    # The weightiest warning's words first: the Error Comment keeps only 64 characters.
    ranked = sorted(stored.warnings, key=lambda w: _WARNING_RANK.index(w.status)
                    if w.status in _WARNING_RANK else len(_WARNING_RANK))
    comment = "; ".join(w.comment for w in ranked)
    if status is not StoreStatus.SUCCESS:
        log.warning("C-STORE %s from %s stored with warning 0x%04X: %s", record.sop_instance_uid, peer,
                    status, comment)
    ctx.count("stored")
    ctx.emit(InstanceStored(
        association=number, source_ae=peer.ae_title, sop_class_uid=record.sop_class_uid,
        sop_instance_uid=record.sop_instance_uid, transfer_syntax=record.transfer_syntax,
        patient_id=str(record.patient.get("patient_id", "")),
        patient_name=str(record.patient.get("patient_name", "")),
        study_uid=record.study_uid, series_uid=record.series_uid,
        modality=str(record.series.get("modality", "")), path=stored.path,
        size=int(record.instance.get("file_size", 0)), duplicate=stored.duplicate, status=int(status)))
    if status is StoreStatus.SUCCESS:
        return 0x0000
    return _response(status, comment)


def _refuse(ctx: ScpContext, number: int, source_ae: str, sop_uid: str, status: StoreStatus,
            reason: str) -> Dataset:
    log.warning("C-STORE %s from %s refused with 0x%04X: %s", sop_uid, source_ae, status, reason)
    ctx.count("refused")
    ctx.emit(InstanceRefused(association=number, source_ae=source_ae, sop_instance_uid=sop_uid,
                             status=int(status), reason=reason))
    return _response(status, reason)
