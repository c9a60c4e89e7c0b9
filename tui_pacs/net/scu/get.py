"""C-GET as SCU (PS3.4 C.4.3): the node sends the instances back on our own association.

We propose the Storage SOP classes the study actually holds, learned by a
C-FIND beforehand (SOPClassesInStudy at study level, else SOPClassUID at
image level), each with SCP/SCU Role Selection (PS3.7 D.3.3.4) taking the
SCP role, so the whole retrieve fits the 128-context limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from pynetdicom import evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelGet,
)

from tui_pacs.config.model import RemoteNode
from tui_pacs.domain.attributes import Level, Root
from tui_pacs.net.errors import Cancelled, OperationFailed
from tui_pacs.net.fastpath import dimse, store_reader, sub_operations
from tui_pacs.net.scp.base import answers_fast
from tui_pacs.net.scp.chunked import install_chunked_receive
from tui_pacs.net.scp.fast import fast_c_store
from tui_pacs.net.scu import dimse_guard
from tui_pacs.net.scu.association import associate, make_ae, raise_no_response
from tui_pacs.net.scu.association import context_id as _context_id
from tui_pacs.net.scu.contexts import MAX_CONTEXTS, plan_get_contexts
from tui_pacs.net.scu.find import RemoteQuery, find_all
from tui_pacs.net.scu.ingest import ReceivedCounts, store_received
from tui_pacs.net.scu.retrieve import RetrieveItem, SubOperations, final_reason
from tui_pacs.net.scu.status import CANCEL, SUCCESS, is_pending
from tui_pacs.net.scu.store import ProgressCallback, TransferCounts
from tui_pacs.store.archive import Archive

log = logging.getLogger(__name__)

GET_MODELS = {
    Root.PATIENT: PatientRootQueryRetrieveInformationModelGet,
    Root.STUDY: StudyRootQueryRetrieveInformationModelGet,
}


def needed_sop_classes(calling_ae: str, node: RemoteNode, items: Sequence[RetrieveItem],
                       root: Root = Root.STUDY) -> list[str]:
    """The Storage SOP classes under ``items``, asked of the node itself."""
    classes: dict[str, None] = {}
    for item in items:
        keys = dict(item.keys)
        if item.level is Level.STUDY:
            for match in find_all(calling_ae, node, RemoteQuery(Level.STUDY, Root.STUDY,
                                                                 {**keys, "SOPClassesInStudy": ""})):
                value = match.get("SOPClassesInStudy")
                for uid in ([value] if isinstance(value, str) else list(value or [])):
                    classes[str(uid)] = None
            if classes:
                continue
        for image_keys in _image_scopes(calling_ae, node, item, root):
            for match in find_all(calling_ae, node, RemoteQuery(Level.IMAGE, root, {**image_keys, "SOPClassUID": ""})):
                if match.get("SOPClassUID"):
                    classes[str(match.SOPClassUID)] = None
    if not classes:
        # Some peers (dcmqrscp) return no SOPClassUID at all: offer the common classes instead.
        log.info("%s did not report SOP classes; proposing the %d common storage classes",
                 node.name, len(COMMON_STORAGE_CLASSES))
        return common_storage_classes()
    return list(classes)


# Storage classes proposed when the peer cannot say which ones a study holds (PS3.4 B.5).
COMMON_STORAGE_CLASSES = (
    "CTImageStorage", "EnhancedCTImageStorage", "MRImageStorage", "EnhancedMRImageStorage",
    "ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing", "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing", "BreastTomosynthesisImageStorage",
    "UltrasoundImageStorage", "UltrasoundMultiFrameImageStorage", "SecondaryCaptureImageStorage",
    "MultiFrameSingleBitSecondaryCaptureImageStorage", "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleWordSecondaryCaptureImageStorage", "MultiFrameTrueColorSecondaryCaptureImageStorage",
    "XRayAngiographicImageStorage", "EnhancedXAImageStorage", "XRayRadiofluoroscopicImageStorage",
    "NuclearMedicineImageStorage", "PositronEmissionTomographyImageStorage", "EnhancedPETImageStorage",
    "RTImageStorage", "RTDoseStorage", "RTStructureSetStorage", "RTPlanStorage", "RTIonPlanStorage",
    "EncapsulatedPDFStorage", "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage",
    "KeyObjectSelectionDocumentStorage", "GrayscaleSoftcopyPresentationStateStorage",
    "VLPhotographicImageStorage", "VLEndoscopicImageStorage", "OphthalmicPhotography8BitImageStorage",
    "SegmentationStorage", "SpatialRegistrationStorage", "RawDataStorage", "XRayRadiationDoseSRStorage",
    "LegacyConvertedEnhancedCTImageStorage", "LegacyConvertedEnhancedMRImageStorage",
)


def common_storage_classes() -> list[str]:
    from pynetdicom import sop_class

    return [str(getattr(sop_class, name)) for name in COMMON_STORAGE_CLASSES if hasattr(sop_class, name)]


def _image_scopes(calling_ae: str, node: RemoteNode, item: RetrieveItem, root: Root) -> list[dict[str, str]]:
    """Unique keys down to the series, one dict per series: strict hierarchical peers such as
    dcmqrscp need a single Series Instance UID above an IMAGE-level query (PS3.4 C.4.1.3.1.1)."""
    keys = dict(item.keys)
    if item.level in (Level.SERIES, Level.IMAGE):
        return [keys]
    series_root = root if item.level is Level.STUDY else Root.PATIENT
    if item.level is Level.PATIENT:
        studies = [str(m.StudyInstanceUID) for m in find_all(
            calling_ae, node, RemoteQuery(Level.STUDY, Root.PATIENT, {**keys, "StudyInstanceUID": ""}))]
    else:
        studies = [keys["StudyInstanceUID"]]
    scopes = []
    for study_uid in studies:
        study_keys = {**keys, "StudyInstanceUID": study_uid}
        for match in find_all(calling_ae, node, RemoteQuery(Level.SERIES, series_root,
                                                            {**study_keys, "SeriesInstanceUID": ""})):
            scopes.append({**study_keys, "SeriesInstanceUID": str(match.SeriesInstanceUID)})
    return scopes


def send_c_get(calling_ae: str, node: RemoteNode, items: Sequence[RetrieveItem], archive: Archive, *,
               root: Root = Root.STUDY, sop_classes: Sequence[str] | None = None,
               progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None) -> TransferCounts:
    """Get ``items`` from ``node`` into ``archive``; raise if anything did not arrive."""
    model = GET_MODELS[root]
    classes = list(sop_classes) if sop_classes else needed_sop_classes(calling_ae, node, items, root)
    if len(classes) >= MAX_CONTEXTS:
        log.warning("%d SOP classes to get; only the first %d fit one association", len(classes),
                    MAX_CONTEXTS - 1)
    contexts, roles = plan_get_contexts(model, [(uid, ()) for uid in classes])
    counts = TransferCounts()
    subops = SubOperations(counts)
    received = ReceivedCounts()

    @answers_fast
    def handle_store(event: Any) -> int:
        return store_received(archive, event, node.ae_title, received)

    def handle_open(event: Any) -> None:  # before any P-DATA: sub-operations without pydicom,
        store_reader.install(event.assoc)  # answered on the DUL thread that read them
        dimse.install_fast_responses(event.assoc)
        sub_operations.install(event.assoc, fast_c_store)

    def handle_close(event: Any) -> None:  # a sub-operation cut off: its partial file goes now
        store_reader.discard_partial(event.assoc)

    install_chunked_receive(archive.incoming_dir)  # sub-operation data sets stream to disk
    ae = make_ae(calling_ae)
    handlers = [(evt.EVT_C_STORE, handle_store), (evt.EVT_CONN_OPEN, handle_open),
                (evt.EVT_CONN_CLOSE, handle_close)]
    with associate(ae, node, contexts, ext_neg=roles, handlers=handlers) as assoc:
        for message_id, item in enumerate(items, start=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"cancelled after {counts.completed} instances")
            with dimse_guard.exclusive(assoc):
                responses = assoc.send_c_get(item.identifier(), model, msg_id=message_id)
                cancel_sent = False
                for status, _identifier in responses:
                    if "Status" not in status:
                        raise_no_response(assoc, node, f"the C-GET of {item.label}")
                    code = int(status.Status)
                    subops.update(status)
                    counts.bytes = received.bytes
                    if progress is not None:
                        progress(counts)
                    if is_pending(code):
                        if cancel is not None and cancel.is_set() and not cancel_sent:
                            assoc.send_c_cancel(message_id, _context_id(assoc, model))
                            cancel_sent = True
                        continue
                    if code == CANCEL or cancel_sent:
                        raise Cancelled(f"cancelled after {counts.completed} instances")
                    if code != SUCCESS:
                        raise OperationFailed(final_reason(node, "C-GET", item, code, status), status=code)
            subops.next_request()
    counts.bytes = received.bytes
    return counts
