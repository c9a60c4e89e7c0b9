"""The C-FIND form: root, level and the usual worklist keys, plus any extra KEY=VALUE pairs."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Select

from tui_pacs.domain.attributes import Level, Root
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.services.local_filter import expand_date

FIELDS = (("PatientName", "name (DOE*)", 16), ("PatientID", "patient ID", 12), ("StudyDate", "date (-7d, a-b)", 14),
          ("ModalitiesInStudy", "modality", 9), ("AccessionNumber", "accession", 11),
          ("StudyDescription", "description", 14))


class QueryForm(Vertical):
    """Posts :class:`QueryForm.Submitted` on Enter in any field."""

    DEFAULT_CSS = """
    QueryForm { height: 2; }
    QueryForm Horizontal { height: 1; }
    QueryForm Input { width: 1fr; margin-right: 1; }
    QueryForm Select { width: 14; margin-right: 1; }
    """

    @dataclass
    class Submitted(Message):
        level: Level
        root: Root
        keys: dict[str, str]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Select([("study root", "STUDY"), ("patient root", "PATIENT")], value="STUDY", allow_blank=False,
                         compact=True, id="q-root")
            yield Select([("studies", "STUDY"), ("patients", "PATIENT"), ("series", "SERIES"),
                          ("instances", "IMAGE")], value="STUDY", allow_blank=False, compact=True, id="q-level")
            for keyword, hint, _ in FIELDS[:3]:
                yield Input(placeholder=hint, id=f"q-{keyword}", compact=True)
        with Horizontal():
            for keyword, hint, _ in FIELDS[3:]:
                yield Input(placeholder=hint, id=f"q-{keyword}", compact=True)
            yield Input(placeholder="extra: Key=value Key2=…", id="q-extra", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.post_message(self.Submitted(self.level, self.root, self.keys()))
        except InvalidQuery as exc:
            self.notify(exc.message, title="Query not understood", severity="warning")

    @property
    def level(self) -> Level:
        return Level(str(self.query_one("#q-level", Select).value))

    @property
    def root(self) -> Root:
        return Root(str(self.query_one("#q-root", Select).value))

    def keys(self) -> dict[str, str]:
        """The filled fields as DICOM match values (dates may be relative, as in the filter bar)."""
        keys: dict[str, str] = {}
        for keyword, _, _ in FIELDS:
            value = self.query_one(f"#q-{keyword}", Input).value.strip()
            if value:
                keys[keyword] = expand_date(value) if keyword == "StudyDate" else value
        level = self.level
        if "ModalitiesInStudy" in keys and level is not Level.STUDY:
            keys["Modality"] = keys.pop("ModalitiesInStudy")
        for pair in self.query_one("#q-extra", Input).value.split():
            name, sep, value = pair.partition("=")
            if not sep or not name:
                raise InvalidQuery(f"extra keys are Keyword=value, not {pair!r}")
            keys[name] = value
        return keys
