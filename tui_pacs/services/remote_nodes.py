"""What the workstation's remote-nodes pane asks: validate and save nodes, echo, query, compare.

All blocking (network or SQLite): the UI calls these from thread workers.
C-FIND results are turned into plain keyword -> text dicts here, so the UI
never handles pydicom datasets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pacs.config.loader import load_config
from tui_pacs.config.model import Config, RemoteNode, RetrieveMethod
from tui_pacs.config.writer import remove_node, save_node
from tui_pacs.domain.attributes import Level, Root
from tui_pacs.domain.errors import DomainError, TuiPacsError
from tui_pacs.domain.uids import normalise_ae_title
from tui_pacs.store.query import Query

if TYPE_CHECKING:
    from tui_pacs.store.archive import Archive

# Keys asked for at each level (returned by any Q/R SCP that supports the optional keys).
RESULT_KEYS: dict[Level, tuple[str, ...]] = {
    Level.PATIENT: ("PatientName", "PatientID", "PatientBirthDate", "NumberOfPatientRelatedStudies"),
    Level.STUDY: ("PatientName", "PatientID", "StudyDate", "ModalitiesInStudy", "StudyDescription",
                  "AccessionNumber", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
                  "StudyInstanceUID"),
    Level.SERIES: ("SeriesNumber", "Modality", "SeriesDescription", "NumberOfSeriesRelatedInstances",
                   "SeriesInstanceUID", "StudyInstanceUID"),
    Level.IMAGE: ("InstanceNumber", "SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"),
}
COUNT_KEY = {Level.STUDY: "NumberOfStudyRelatedInstances", Level.SERIES: "NumberOfSeriesRelatedInstances"}
UID_KEY = {Level.PATIENT: "PatientID", Level.STUDY: "StudyInstanceUID", Level.SERIES: "SeriesInstanceUID",
           Level.IMAGE: "SOPInstanceUID"}


class InvalidNode(DomainError):
    title = "Invalid node"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def validate_node(name: str, ae_title: str, host: str, port: str, retrieve: str = "move",
                  note: str = "") -> RemoteNode:
    """A :class:`RemoteNode` from form text, or :class:`InvalidNode` naming the bad field."""
    name = name.strip()
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise InvalidNode("name", "letters, digits, '-', '_' and '.' only")
    try:
        ae = normalise_ae_title(ae_title)
    except TuiPacsError as exc:
        raise InvalidNode("AE title", exc.message) from None
    if not host.strip():
        raise InvalidNode("host", "is required")
    try:
        number = int(port)
    except ValueError:
        raise InvalidNode("port", f"{port!r} is not a number") from None
    if not 1 <= number <= 65535:
        raise InvalidNode("port", "must be 1-65535")
    try:
        method = RetrieveMethod(retrieve)
    except ValueError:
        raise InvalidNode("retrieve", "move or get") from None
    return RemoteNode(name=name, ae_title=ae, host=host.strip(), port=number, retrieve=method, note=note.strip())


def store_node(config_file: Path, node: RemoteNode, replaces: str | None = None) -> Config:
    """Save (renaming when ``replaces`` differs) keeping the file's comments; the reloaded config."""
    save_node(config_file, node)
    if replaces and replaces != node.name:
        remove_node(config_file, replaces)
    return load_config(config_file)


def delete_node(config_file: Path, name: str) -> Config:
    remove_node(config_file, name)
    return load_config(config_file)


@dataclass(frozen=True)
class EchoResult:
    node: str
    ok: bool
    latency: float
    at: float
    message: str = ""


def echo(config: Config, node: RemoteNode) -> EchoResult:
    """C-ECHO; failures become a result (the node list shows them), not an exception."""
    from tui_pacs.net.scu.echo import send_c_echo

    start = time.monotonic()
    try:
        latency = send_c_echo(config.local.ae_title, node)
    except TuiPacsError as exc:
        return EchoResult(node.name, False, time.monotonic() - start, time.time(), exc.message)
    return EchoResult(node.name, True, latency, time.time())


def query(config: Config, node: RemoteNode, level: Level, root: Root, keys: Mapping[str, str],
          cancel: threading.Event | None = None) -> Iterator[dict[str, str]]:
    """Stream matches of a C-FIND as keyword -> text dicts (the level's result keys are asked for)."""
    from tui_pacs.net.scu.find import RemoteQuery, send_c_find

    wanted = {k: "" for k in RESULT_KEYS[level]}
    wanted.update({k: v for k, v in keys.items() if v})
    if root is Root.STUDY and level is Level.PATIENT:
        raise DomainError("the STUDY root has no PATIENT level")
    if root is Root.PATIENT and "PatientID" not in wanted:
        wanted["PatientID"] = ""
    for identifier in send_c_find(config.local.ae_title, node, RemoteQuery(level, root, wanted), cancel=cancel):
        yield {k: _text(identifier.get(k)) for k in wanted}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def local_counts(archive: Archive, level: Level, uids: list[str]) -> dict[str, int]:
    """Instances stored locally per study/series UID (0 when absent), for the completeness check."""
    if level not in COUNT_KEY or not uids:
        return {}
    key = UID_KEY[level]
    rows = archive.index.find(Query(level, {key: "\\".join(uids), COUNT_KEY[level]: ""}))
    found = {str(r[key]): int(r[COUNT_KEY[level]] or 0) for r in rows}
    return {uid: found.get(uid, 0) for uid in uids}


def retrieve_params(level: Level, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Job parameters for retrieving these result rows (studies by UID, else unique keys)."""
    if level is Level.STUDY:
        return {"study": [r["StudyInstanceUID"] for r in rows]}
    keys = {"StudyInstanceUID": rows[0].get("StudyInstanceUID", "")}
    keys[UID_KEY[level]] = "\\".join(r[UID_KEY[level]] for r in rows)
    if level is Level.IMAGE:
        keys["SeriesInstanceUID"] = rows[0].get("SeriesInstanceUID", "")
    return {"keys": keys, "level": level.value, "root": "STUDY"}


def batched(source: Iterator[dict[str, str]], flush: Callable[[list[dict[str, str]]], None],
            interval: float = 0.1, size: int = 100) -> int:
    """Feed ``source`` to ``flush`` in batches (by time or size), so a 5,000-match C-FIND is a few redraws."""
    batch: list[dict[str, str]] = []
    last = time.monotonic()
    total = 0
    for row in source:
        batch.append(row)
        total += 1
        if len(batch) >= size or time.monotonic() - last >= interval:
            flush(batch)
            batch, last = [], time.monotonic()
    if batch:
        flush(batch)
    return total
