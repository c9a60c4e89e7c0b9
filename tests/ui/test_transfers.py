"""Pilot tests of sending, exporting and the transfer queue pane (real storescp peer)."""

from __future__ import annotations

import asyncio

from tests.support.tools import free_port
from tui_pacs.ui.panes.local.export_screen import ExportScreen
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.panes.transfers.job_details import JobDetailsScreen
from tui_pacs.ui.panes.transfers.job_table import JobTable
from tui_pacs.ui.widgets.node_picker import NodePickerScreen


def node_config(name: str, aet: str, port: int) -> str:
    return f'[local]\nae_title = "TUITEST"\n\n[nodes.{name}]\nae_title = "{aet}"\nhost = "127.0.0.1"\nport = {port}\n'


async def until(pilot, predicate, timeout: float = 20.0) -> None:
    """Let the app run until ``predicate()`` holds (jobs run in worker threads)."""
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not reached in time")


def job_states(app) -> dict[int, str]:
    return {job.id: job.state for job in app.query_one(JobTable).jobs.values()}


async def test_send_study_to_a_node_shows_a_finished_job(sample_home, make_app, storescp):
    app = make_app(sample_home, node_config("store", storescp.aet, storescp.port))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        instances = app.query_one(LocalPane).table.current_row["NumberOfStudyRelatedInstances"]
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, NodePickerScreen)
        await pilot.press("enter")
        await pilot.press("3")
        await until(pilot, lambda: "done" in job_states(app).values())
        assert len(storescp.received()) == instances
        # The outgoing association shows in the live table beside incoming ones.
        from tui_pacs.ui.panes.log.associations import AssociationTable

        live = app.query_one(AssociationTable).live.values()
        await until(pilot, lambda: any(a.peer_ae == storescp.aet and not a.inbound for a in live))


async def test_cancel_a_job_waiting_for_a_retry(sample_home, make_app):
    # Nobody listens on this port: the send fails transiently and waits for its retry.
    app = make_app(sample_home, node_config("down", "NOBODY", free_port()))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.press("3")
        table = app.query_one(JobTable)
        await until(pilot, lambda: table.current_job is not None and table.current_job.attempts >= 1
                    and table.current_job.state == "queued")
        await pilot.press("c")
        await until(pilot, lambda: "cancelled" in job_states(app).values())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailsScreen))
        await pilot.press("escape")
        await pilot.press("r")  # retry puts it back in the queue
        await until(pilot, lambda: table.current_job.state in ("queued", "running"))
        await pilot.press("c")
        await until(pilot, lambda: table.current_job.state in ("cancelled", "cancelling"))
        await until(pilot, lambda: table.current_job.state == "cancelled")
        await pilot.press("x")  # clear finished
        await until(pilot, lambda: table.row_count == 0)
        assert app.workstation.list_jobs() == []  # gone from the index, not only from the view


async def test_export_study_as_dicomdir(sample_home, make_app, tmp_path):
    app = make_app(sample_home)
    target = tmp_path / "usb"
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-dir").value = str(target)
        await pilot.press("enter")
        await pilot.press("3")
        await until(pilot, lambda: "done" in job_states(app).values())
        await asyncio.sleep(0)
    assert (target / "DICOMDIR").is_file()
