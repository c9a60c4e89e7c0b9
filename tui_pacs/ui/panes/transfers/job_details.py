"""One job in full: parameters, error, and every failed instance with its reason."""

from __future__ import annotations

import json
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Footer, Log, Static

from tui_pacs.store.jobs import JobRow


class JobDetailsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", id="job.close")]

    def __init__(self, job: JobRow, failures: list[tuple[str, str]]) -> None:
        super().__init__()
        self.job = job
        self.failures = failures

    def compose(self) -> ComposeResult:
        job = self.job
        yield Static(f"Job {job.id}: {job.kind} {job.node} — {job.state}", classes="screen-title")
        yield Log(id="job-detail", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        job = self.job
        log = self.query_one(Log)
        lines = [
            f"description : {job.description}",
            f"counts      : {job.completed} done, {job.failed} failed, {job.warnings} warnings of {job.total}",
            f"bytes       : {job.bytes:,}",
            f"attempts    : {job.attempts} of {job.max_attempts}",
            f"created     : {job.created_at}",
            f"started     : {job.started_at or '-'}",
            f"finished    : {job.finished_at or '-'}",
            f"error       : {job.error or '-'}",
            f"parameters  : {json.dumps(job.params, ensure_ascii=False)}",
            "",
            f"failed instances ({len(self.failures)}):",
        ]
        lines += [f"  {uid}  {reason}" for uid, reason in self.failures] or ["  none"]
        log.write_lines(lines)
        log.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
