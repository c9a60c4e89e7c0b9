"""C-FIND as SCU (PS3.4 C.4.1): any level, either root, any keys, streamed and cancellable."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from tui_pacs.config.model import RemoteNode
from tui_pacs.domain.attributes import Level, Root
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.net.errors import OperationFailed
from tui_pacs.net.scu import dimse_guard
from tui_pacs.net.scu.association import associate, context_id, make_ae, raise_no_response
from tui_pacs.net.scu.status import CANCEL, SUCCESS, describe, is_pending

log = logging.getLogger(__name__)

FIND_MODELS = {
    Root.PATIENT: PatientRootQueryRetrieveInformationModelFind,
    Root.STUDY: StudyRootQueryRetrieveInformationModelFind,
}
_UNIQUE = {Level.PATIENT: "PatientID", Level.STUDY: "StudyInstanceUID",
           Level.SERIES: "SeriesInstanceUID", Level.IMAGE: "SOPInstanceUID"}


@dataclass(frozen=True)
class RemoteQuery:
    """A C-FIND identifier: level, information model and keyword -> match value.

    An empty value asks for the key to be returned (universal matching,
    PS3.4 C.2.2.2.3). Unlike the local query engine, any keyword of the
    data dictionary is allowed: the peer decides what it supports.
    """

    level: Level = Level.STUDY
    root: Root = Root.STUDY
    keys: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.root.allows(self.level):
            raise InvalidQuery(f"the {self.root.value} root has no {self.level.value} level")
        for keyword in self.keys:
            if tag_for_keyword(keyword) is None:
                raise InvalidQuery(f"{keyword!r} is not a DICOM keyword")

    def identifier(self) -> Dataset:
        """The identifier data set, with the unique keys of each level down to the query level."""
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level.value
        for level in Level:
            if level.depth <= self.level.depth and self.root.allows(level):
                unique = _UNIQUE[level]
                if unique not in self.keys:
                    setattr(ds, unique, "")
        for keyword, value in self.keys.items():
            _set(ds, keyword, value)
        return ds


def _set(ds: Dataset, keyword: str, value: str) -> None:
    vr = dictionary_VR(keyword)
    if vr == "SQ":
        setattr(ds, keyword, [])
    elif value == "" or vr not in ("US", "SS", "UL", "SL", "FL", "FD", "IS", "DS"):
        setattr(ds, keyword, value)
    else:
        try:
            setattr(ds, keyword, value if vr in ("IS", "DS") else int(value))
        except ValueError:
            raise InvalidQuery(f"{keyword}={value!r}: expected a number") from None


def send_c_find(calling_ae: str, node: RemoteNode, query: RemoteQuery, *,
                cancel: threading.Event | None = None) -> Iterator[Dataset]:
    """Yield each matching identifier as the peer sends it.

    When ``cancel`` is set a C-CANCEL is sent (PS3.7 9.3.2.3) and the
    remaining responses are drained; nothing more is yielded. A failure
    status raises :class:`OperationFailed`.
    """
    model = FIND_MODELS[query.root]
    ae = make_ae(calling_ae)
    with associate(ae, node, [build_context(model)]) as assoc, dimse_guard.exclusive(assoc):
        responses = assoc.send_c_find(query.identifier(), model, msg_id=1)
        cancelled = False
        for status, identifier in responses:
            if "Status" not in status:
                raise_no_response(assoc, node, "the C-FIND")
            code = int(status.Status)
            if is_pending(code):
                if cancelled:
                    continue
                if identifier is not None:
                    yield identifier
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    assoc.send_c_cancel(1, context_id(assoc, model))
                continue
            if code in (SUCCESS, CANCEL):
                return
            comment = status.get("ErrorComment")
            raise OperationFailed(
                f"{node.name} answered the C-FIND with {describe(code)}{': ' + str(comment) if comment else ''}",
                status=code)


def find_all(calling_ae: str, node: RemoteNode, query: RemoteQuery) -> list[Dataset]:
    """Every match, for callers that need the whole list (retrieve planning)."""
    return list(send_c_find(calling_ae, node, query))
