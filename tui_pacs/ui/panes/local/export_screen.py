"""Ask where to write a DICOMDIR file-set and with which PS3.11 media profile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from tui_pacs.domain.media import PROFILES


@dataclass(frozen=True)
class ExportChoice:
    destination: Path
    profile: str


class ExportScreen(ModalScreen[ExportChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, what: str, default_dir: Path) -> None:
        super().__init__()
        self.what = what
        self.default_dir = default_dir

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Export {self.what} as a DICOMDIR file-set", classes="dialog-text")
            yield Input(str(self.default_dir), id="export-dir", placeholder="an empty directory")
            yield Select([(name, name) for name in PROFILES], value="STD-GEN-USB", allow_blank=False,
                         id="export-profile")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export-go")
                yield Button("Cancel", id="export-cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._finish()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-go":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        text = self.query_one("#export-dir", Input).value.strip()
        if not text:
            self.notify("Give a directory to write to.", severity="warning")
            return
        profile = str(self.query_one("#export-profile", Select).value)
        self.dismiss(ExportChoice(Path(text).expanduser(), profile))

    def action_cancel(self) -> None:
        self.dismiss(None)
