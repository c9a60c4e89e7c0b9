"""The workstation attaches to a running ``tui-pacs serve``: its associations live, and its
transfer queue running the jobs the TUI starts (so they outlive the TUI)."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from tests.support.peers import run_dcmqrscp, run_storescp
from tests.support.process import PeerProcess
from tests.support.tools import free_port, sample_files
from tests.ui.test_transfers import job_states, node_config, until
from tui_pacs.config.model import RemoteNode
from tui_pacs.net.scu.echo import send_c_echo
from tui_pacs.services.control import send_command
from tui_pacs.services.workstation import ATTACHED
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.panes.log.associations import AssociationTable
from tui_pacs.ui.panes.log.log_view import LogView
from tui_pacs.ui.panes.nodes.results_table import ResultsTable
from tui_pacs.ui.panes.transfers.job_table import JobTable
from tui_pacs.ui.widgets.node_picker import NodePickerScreen


def refused_echo(port: int) -> None:
    """Call the server by a wrong AE title: it rejects the association and logs a warning."""
    from tui_pacs.domain.errors import TuiPacsError

    wrong = RemoteNode(name="wrong", ae_title="BADCALLED", host="127.0.0.1", port=port)
    try:
        send_c_echo("VISITOR", wrong)
    except TuiPacsError:
        pass


def start_serve(home, port: int) -> PeerProcess:
    env = {**os.environ, "TUI_PACS_HOME": str(home)}
    argv = [sys.executable, "-m", "tui_pacs", "serve", "--aet", "SERVED", "--port", str(port), "--bind", "127.0.0.1"]
    process = PeerProcess("tui-pacs-serve", argv, workdir=home, env=env)
    process.wait_for_port(port, timeout=30)
    return process


async def test_attach_to_serve_and_see_an_association_live(sample_home, make_app):
    port = free_port()
    serve = start_serve(sample_home.data_dir.parent, port)
    try:
        await until_socket(sample_home)
        app = make_app(sample_home, run_scp=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.workstation.mode == ATTACHED and "attached" in app.sub_title)
            await pilot.press("4")
            peer = RemoteNode(name="served", ae_title="SERVED", host="127.0.0.1", port=port)
            await asyncio.to_thread(send_c_echo, "VISITOR", peer)
            table = app.query_one(AssociationTable)
            await until(pilot, lambda: any(a.peer_ae == "VISITOR" for a in table.live.values()))
            visitor = next(a for a in table.live.values() if a.peer_ae == "VISITOR")
            assert visitor.inbound and "Verification" in visitor.services
            await pilot.pause(1.1)  # one redraw tick
            assert table.row_count >= 1
            # The server's warnings reach the log pane through the socket.
            await asyncio.to_thread(refused_echo, port)
            view = app.query_one(LogView)
            await until(pilot, lambda: any("BADCALLED" in strip.text for strip in view.lines))
        # Leaving the TUI leaves the server running.
        assert serve.popen.poll() is None
        peer = RemoteNode(name="served", ae_title="SERVED", host="127.0.0.1", port=port)
        assert await asyncio.to_thread(send_c_echo, "VISITOR", peer) >= 0
    finally:
        serve.stop()


async def until_socket(paths, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if paths.socket_file.exists():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("serve did not open its control socket")


async def server_job(paths, job_id: int) -> dict:
    return (await send_command(paths, "jobs.show", job_id=job_id))["job"]


async def test_attached_send_runs_in_the_server_and_outlives_the_tui(sample_home, make_app, tmp_path):
    # storescp takes a second per instance, so the send is still going when the TUI quits.
    with run_storescp(tmp_path, extra_args=["--sleep-after", "1"]) as scp:
        sample_home.config_file.write_text(node_config("store", scp.aet, scp.port))
        serve = start_serve(sample_home.data_dir.parent, free_port())
        try:
            await until_socket(sample_home)
            app = make_app(sample_home, run_scp=True)
            async with app.run_test(size=(120, 40)) as pilot:
                await until(pilot, lambda: app.workstation.mode == ATTACHED and "attached" in app.sub_title)
                assert app.workstation.queue is None  # the server runs the jobs, not the TUI
                local = app.query_one(LocalPane)
                await until(pilot, lambda: local.page is not None and local.table.current_row is not None)
                counts = [int(r["NumberOfStudyRelatedInstances"]) for r in local.page.rows]
                local.table.move_cursor(row=counts.index(max(counts)))  # the biggest study
                await pilot.pause()
                instances = int(local.table.current_row["NumberOfStudyRelatedInstances"])
                assert instances >= 3
                await pilot.press("s")
                await until(pilot, lambda: isinstance(app.screen, NodePickerScreen))
                await pilot.press("enter")
                await pilot.press("3")
                table = app.query_one(JobTable)
                # The server's progress events reach the Transfers pane.
                await until(pilot, lambda: any(j.state == "running" and j.completed >= 1 for j in table.jobs.values()))
                job_id = next(iter(table.jobs))
                running = await server_job(sample_home, job_id)
                assert running["state"] == "running" and f":{serve.pid}:" in running["owner"]
            # The TUI has gone; the send goes on in the server.
            assert serve.popen.poll() is None
            assert (await server_job(sample_home, job_id))["state"] == "running"
            deadline = time.monotonic() + 90
            while (job := await server_job(sample_home, job_id))["state"] == "running":
                assert time.monotonic() < deadline, "the send did not finish"
                await asyncio.sleep(0.2)
            assert job["state"] == "done", job["error"]
            assert job["completed"] == instances and len(scp.received()) == instances
        finally:
            serve.stop()


async def test_attached_retrieve_runs_in_the_server(sample_home, make_app, tmp_path):
    port = free_port()
    with run_dcmqrscp(tmp_path, files=sample_files("remote"), move_destinations={"SERVED": port}) as qr:
        sample_home.config_file.write_text(node_config("pacs", qr.aet, qr.port))
        serve = start_serve(sample_home.data_dir.parent, port)
        try:
            await until_socket(sample_home)
            app = make_app(sample_home, run_scp=True)
            async with app.run_test(size=(120, 40)) as pilot:
                await until(pilot, lambda: app.workstation.mode == ATTACHED)
                await pilot.press("2", "slash", "enter")  # every study on the node
                results = app.query_one(ResultsTable)
                await until(pilot, lambda: results.row_count >= 3)
                # dcmqrscp offers uncompressed syntaxes only for its sub-operations: the CT study.
                ct = next(uid for uid, row in results.matches.items()
                          if row.get("PatientID") == "RP1001" and row.get("StudyDate") == "20220110")
                results.move_cursor(row=results.get_row_index(ct))
                await pilot.press("ctrl+r")
                await until(pilot, lambda: "done" in job_states(app).values(), timeout=60)
                job_id = next(i for i, state in job_states(app).items() if state == "done")
                assert app.workstation.queue is None
            listed = await send_command(sample_home, "jobs.list")
            assert [(j["id"], j["kind"], j["state"], j["completed"]) for j in listed] == [(job_id, "move", "done", 5)]
            status = await send_command(sample_home, "status")
            assert status["counters"]["stored"] == 5  # the server's SCP took the C-MOVE sub-operations
        finally:
            serve.stop()
