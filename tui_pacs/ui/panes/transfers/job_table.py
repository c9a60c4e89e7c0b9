"""The job rows as a table: a progress bar, counts, rate, ETA and state per job."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui_pacs.store.jobs import JobRow

STATE_STYLE = {"queued": "", "running": "bold", "cancelling": "yellow", "done": "green", "failed": "bold red",
               "cancelled": "dim"}
BAR_WIDTH = 12


def progress_bar(job: JobRow) -> Text:
    """A text bar: done part solid, failed part marked, so it reads in any theme and in tmux."""
    if not job.total:
        return Text("·" * BAR_WIDTH if job.state == "queued" else "…".ljust(BAR_WIDTH), style="dim")
    done = round(BAR_WIDTH * job.completed / job.total)
    bad = round(BAR_WIDTH * job.failed / job.total)
    rest = max(0, BAR_WIDTH - done - bad)
    bar = Text("█" * done, style="green")
    bar.append("█" * bad, style="red")
    bar.append("░" * rest, style="dim")
    return bar


def eta_text(job: JobRow) -> str:
    rate = job.rate()
    left = job.total - job.completed - job.failed
    if job.state != "running" or rate <= 0 or left <= 0:
        return ""
    seconds = int(left / rate)
    return f"{seconds // 60}:{seconds % 60:02d}"


def rate_text(job: JobRow) -> str:
    seconds = job.seconds()
    if seconds <= 0 or not job.completed:
        return ""
    mb = job.bytes / 1e6 / seconds
    return f"{job.rate():.1f}/s" + (f" {mb:.1f}MB/s" if mb >= 0.05 else "")


class JobTable(DataTable[Any]):
    """One row per job, keyed by job id; updated in place so the cursor stays put."""

    COLUMNS = (("#", 4), ("Kind", 6), ("Node", 10), ("What", 22), ("Progress", BAR_WIDTH), ("Done", 11),
               ("Rate", 14), ("ETA", 5), ("State", 10))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.jobs: dict[int, JobRow] = {}

    def on_mount(self) -> None:
        for label, width in self.COLUMNS:
            self.add_column(label, key=label, width=width)

    def show_jobs(self, jobs: list[JobRow]) -> None:
        current = self.current_job_id
        self.clear()
        self.jobs = {job.id: job for job in jobs}
        for job in jobs:
            counts = f"{job.completed}/{job.total or '?'}" + (f" {job.failed}✗" if job.failed else "")
            state = Text(job.state, style=STATE_STYLE.get(job.state, ""))
            self.add_row(str(job.id), job.kind, job.node, job.description, progress_bar(job), counts,
                         rate_text(job), eta_text(job), state, key=str(job.id))
        if current is not None and current in self.jobs:
            self.move_cursor(row=self.get_row_index(str(current)), animate=False)

    @property
    def current_job_id(self) -> int | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    @property
    def current_job(self) -> JobRow | None:
        job_id = self.current_job_id
        return self.jobs.get(job_id) if job_id is not None else None
