"""C-FIND results as they stream in, one level at a time, with marks and local counts."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui_pacs.domain.attributes import Level
from tui_pacs.services.remote_nodes import COUNT_KEY, RESULT_KEYS, UID_KEY
from tui_pacs.ui.panes.local.columns import cell_text

LABELS = {"PatientName": "Name", "PatientID": "ID", "PatientBirthDate": "Birth", "StudyDate": "Date",
          "ModalitiesInStudy": "Mod", "StudyDescription": "Description", "AccessionNumber": "Accession",
          "NumberOfStudyRelatedSeries": "Se", "NumberOfStudyRelatedInstances": "Im",
          "NumberOfPatientRelatedStudies": "St", "SeriesNumber": "#", "Modality": "Mod",
          "SeriesDescription": "Description", "NumberOfSeriesRelatedInstances": "Im", "InstanceNumber": "#",
          "SOPClassUID": "SOP class"}
WIDTHS = {"PatientName": 18, "StudyDescription": 18, "SeriesDescription": 24, "SOPClassUID": 28,
          "PatientID": 9, "AccessionNumber": 9}


class ResultsTable(DataTable[Any]):
    HELP_GROUP = "Remote nodes"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "toggle_mark", "Mark", id="results.mark", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.level: Level | None = None
        self.matches: dict[str, dict[str, str]] = {}
        self.marked: set[str] = set()

    def start(self, level: Level) -> None:
        """Empty the table for a new query at ``level``."""
        self.clear(columns=True)
        self.level, self.matches, self.marked = level, {}, set()
        self.add_column(" ", key="_mark", width=1)
        for keyword in RESULT_KEYS[level]:
            if keyword in LABELS:
                self.add_column(LABELS[keyword], key=keyword, width=WIDTHS.get(keyword, len(LABELS[keyword]) + 8))
        if level in COUNT_KEY:
            self.add_column("Local", key="_local", width=9)

    def add_matches(self, matches: list[dict[str, str]]) -> None:
        assert self.level is not None
        unique = UID_KEY[self.level]
        for match in matches:
            uid = match.get(unique, "")
            if not uid or uid in self.matches:
                continue
            self.matches[uid] = match
            cells: list[Any] = [""] + [cell_text(k, match.get(k, "")) for k in RESULT_KEYS[self.level] if k in LABELS]
            if self.level in COUNT_KEY:
                cells.append("")
            self.add_row(*cells, key=uid)

    def show_counts(self, counts: dict[str, int]) -> None:
        """Local instance counts against the node's Number of ... Related Instances."""
        if self.level not in COUNT_KEY:
            return
        for uid, local in counts.items():
            if uid not in self.matches:
                continue
            remote = self.matches[uid].get(COUNT_KEY[self.level], "")
            if remote.isdigit():
                complete = local >= int(remote)
                text = Text(f"{local}/{remote} {'✓' if complete else '…'}", style="green" if complete else "yellow")
            else:
                text = Text(f"{local}/?", style="dim")
            self.update_cell(uid, "_local", text)

    @property
    def current_uid(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def selection(self) -> list[dict[str, str]]:
        uids = sorted(self.marked) if self.marked else ([self.current_uid] if self.current_uid else [])
        return [self.matches[u] for u in uids if u in self.matches]

    def action_toggle_mark(self) -> None:
        uid = self.current_uid
        if uid is None:
            return
        self.marked.symmetric_difference_update({uid})
        self.update_cell(uid, "_mark", "●" if uid in self.marked else "")
        self.action_cursor_down()
