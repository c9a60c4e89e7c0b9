"""Pane 3: the transfer queue. Every job row, live, with cancel, retry, clear and details.

The rows are the truth (jobs are rows): the pane re-reads them in a thread
worker. Job events only mark the view dirty; a 0.5 s tick reloads at most
once, so a flood of progress events costs one query per tick.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from tui_pacs.services.workstation import Workstation
from tui_pacs.store.jobs import JobRow
from tui_pacs.ui.panes.base import Pane
from tui_pacs.ui.panes.transfers.job_details import JobDetailsScreen
from tui_pacs.ui.panes.transfers.job_table import JobTable


class TransfersPane(Pane):
    PANE_ID = "transfers"
    PANE_TITLE = "Transfers"
    HELP_GROUP = "Transfers"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel", "Cancel job", id="transfers.cancel"),
        Binding("r", "retry", "Retry job", id="transfers.retry"),
        Binding("x", "clear_finished", "Clear finished", id="transfers.clear"),
        Binding("enter", "details", "Details", id="transfers.details"),
    ]

    def __init__(self, workstation: Workstation, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workstation = workstation
        self.dirty = True

    def compose(self) -> ComposeResult:
        yield Static("", id="transfers-status", classes="status-line")
        yield JobTable(id="job-table")

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def mark_dirty(self) -> None:
        """A job event arrived; reload on the next tick (merging floods)."""
        self.dirty = True

    def _tick(self) -> None:
        running = any(j.state in ("running", "queued", "cancelling") for j in self.query_one(JobTable).jobs.values())
        if (self.dirty or running) and self.workstation.archive is not None:
            self.dirty = False
            self.reload()

    @work(thread=True, exclusive=True, group="transfers-load", exit_on_error=False)
    def reload(self) -> None:
        jobs = self.workstation.list_jobs()
        self.app.call_from_thread(self._show, jobs)

    def _show(self, jobs: list[JobRow]) -> None:
        visible = jobs
        self.query_one(JobTable).show_jobs(visible)
        active = sum(1 for j in visible if not j.is_final)
        failed = sum(1 for j in visible if j.state == "failed")
        self.query_one("#transfers-status", Static).update(
            f"{len(visible)} jobs · {active} active · {failed} failed   "
            "c cancel · r retry · x clear finished · Enter details")

    # -- actions ------------------------------------------------------------------------------

    def _job(self) -> JobRow | None:
        return self.query_one(JobTable).current_job

    def action_cancel(self) -> None:
        job = self._job()
        if job is not None:
            self._act("cancel", job.id)

    def action_retry(self) -> None:
        job = self._job()
        if job is not None:
            self._act("retry", job.id)

    @work(thread=True, group="transfers-act", exit_on_error=False)
    def _act(self, verb: str, job_id: int) -> None:
        job = self.workstation.cancel(job_id) if verb == "cancel" else self.workstation.retry(job_id)
        self.app.call_from_thread(self.notify, f"Job {job.id} is {job.state}.", title=verb.title())
        self.dirty = True

    @work(thread=True, group="transfers-act", exit_on_error=False)
    def action_clear_finished(self) -> None:
        """Delete finished jobs from the queue (the index), not just from the view."""
        removed = self.workstation.clear_finished()
        self.app.call_from_thread(self.notify, f"Cleared {removed} finished job(s).", title="Transfers")
        self.dirty = True

    @on(DataTable.RowSelected, "#job-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def action_details(self) -> None:
        job = self._job()
        if job is not None:
            self._details(job)

    @work(thread=True, group="transfers-details", exit_on_error=False)
    def _details(self, job: JobRow) -> None:
        failures = self.workstation.failures(job.id)
        self.app.call_from_thread(self.app.push_screen, JobDetailsScreen(job, failures))
