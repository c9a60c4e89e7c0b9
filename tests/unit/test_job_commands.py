"""The job commands of the control socket, dispatched in-process over a real archive (no peers).

What runs a job against a peer is covered by tests/integration/test_serve_jobs.py;
here: argument checking, replies, errors with their titles, and the queue's
cancel/retry/interrupt rules as the server uses them.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from tui_pacs.config.model import Config, LocalNode, RemoteNode
from tui_pacs.domain.events import Event, JobProgress
from tui_pacs.net.errors import Cancelled
from tui_pacs.services import jobs as job_kinds
from tui_pacs.services.bus import EventBus
from tui_pacs.services.control import COMMANDS, ControlContext, ControlServer
from tui_pacs.services.job_commands import JOB_COMMANDS, job_from_dict, retrieve_params, send_params
from tui_pacs.services.queue import INTERRUPTED, TransferQueue
from tui_pacs.store.archive import Archive
from tui_pacs.store.jobs import JobStore

CONFIG = Config(local=LocalNode(ae_title="TUIPACS"),
                nodes={"peer": RemoteNode("peer", "PEER", "127.0.0.1", 1)})


class Server:
    """A control server's dispatcher with the job commands and a queue that is not dispatching."""

    def __init__(self, archive: Archive, tmp_path: Path) -> None:
        self.events: list[Event] = []
        self.queue = TransferQueue(archive, CONFIG, publish=self.events.append)
        self.context = ControlContext(EventBus(asyncio.get_running_loop()), extras={"queue": self.queue})
        self.control = ControlServer.__new__(ControlServer)  # dispatch only: no socket
        self.control.context = self.context
        self.control.commands = {**COMMANDS, **JOB_COMMANDS}

    async def __call__(self, command: str, **arguments: Any) -> dict[str, Any]:
        return await self.control.dispatch({"command": command, "id": 7, **arguments})


async def test_submit_list_show_cancel_retry_clear(archive: Archive, tmp_path: Path) -> None:
    server = Server(archive, tmp_path)
    sent = await server("send", node="peer", study=["1.2.3"], description="to the peer")
    assert sent["ok"] and sent["id"] == 7
    job = job_from_dict(sent["result"])
    assert (job.kind, job.node, job.state, job.description) == ("send", "peer", "queued", "to the peer")
    assert job.params == {"study": ["1.2.3"], "series": [], "paths": []}

    moved = (await server("move", node="peer", keys={"PatientID": "X"}, level="series"))["result"]
    assert moved["params"] == {"keys": {"PatientID": "X"}, "level": "SERIES", "root": "STUDY", "destination": ""}
    assert moved["description"] == "move to here"
    got = (await server("get", node="peer", study="1.2.4"))["result"]
    assert got["params"] == {"study": ["1.2.4"], "root": "STUDY"}

    listed = (await server("jobs.list"))["result"]
    assert [j["id"] for j in listed] == [got["id"], moved["id"], job.id]

    cancelled = (await server("jobs.cancel", job_id=job.id))["result"]
    assert cancelled["state"] == "cancelled"
    await asyncio.sleep(0)  # the queue's events travel through the loop
    assert any(isinstance(e, JobProgress) and e.job_id == job.id and e.state == "cancelled"
               for e in server.events)
    store = JobStore(archive.index)
    finished = store.submit("send", node="peer").id
    store.claim(finished, "elsewhere:1:1")
    store.finish(finished, "done")
    store.add_failures(finished, [("1.2.3.4", "C-STORE refused: 0xA700 out of resources")])
    details = (await server("jobs.show", job_id=finished))["result"]
    assert details["job"]["state"] == "done"
    assert details["failures"] == [["1.2.3.4", "C-STORE refused: 0xA700 out of resources"]]
    refused = await server("jobs.cancel", job_id=finished)
    assert not refused["ok"] and refused["title"] == "Cannot do that to this job"
    assert "only queued or running jobs" in refused["error"]

    retried = (await server("jobs.retry", job_id=job.id))["result"]
    assert retried["state"] == "queued"
    shown = (await server("jobs.show", job_id=job.id))["result"]
    assert shown["job"]["state"] == "queued" and shown["failures"] == []

    await server("jobs.cancel", job_id=moved["id"])
    assert (await server("jobs.clear"))["result"] == 2  # the cancelled move and the done send
    assert [j["id"] for j in (await server("jobs.list"))["result"]] == [got["id"], job.id]
    missing = await server("jobs.show", job_id=999)
    assert not missing["ok"] and missing["title"] == "No such job"


@pytest.mark.parametrize(("command", "arguments", "error"), [
    ("send", {"node": "peer"}, "give studies, series or paths"),
    ("send", {"node": "peer", "paths": ["relative/file.dcm"]}, "paths must be absolute"),
    ("send", {"node": "nowhere", "study": ["1.2"]}, "no node named 'nowhere'"),
    ("move", {"node": "peer"}, "either Study Instance UIDs or query keys"),
    ("get", {"node": "peer", "study": ["1"], "keys": {"PatientID": "X"}}, "either Study Instance UIDs"),
    ("jobs.submit", {"kind": "format-disk", "params": {}}, "unknown job kind 'format-disk'"),
    ("jobs.submit", {"kind": "send", "node": "peer", "params": {"paths": ["x.dcm"]}}, "paths must be absolute"),
    ("jobs.submit", {"kind": "export", "params": {"study": ["1.2"], "to": "cd"}}, "paths must be absolute: cd"),
    ("jobs.cancel", {}, "give job_id"),
    ("jobs.retry", {"job_id": "one"}, "give job_id"),
])
async def test_bad_requests_are_one_line(archive: Archive, tmp_path: Path, command: str,
                                         arguments: dict[str, Any], error: str) -> None:
    reply = await Server(archive, tmp_path)(command, **arguments)
    assert not reply["ok"] and error in reply["error"]
    assert JobStore(archive.index).list() == []  # nothing was queued


async def test_a_server_without_a_queue_says_so(archive: Archive, tmp_path: Path) -> None:
    server = Server(archive, tmp_path)
    server.context.extras.clear()
    reply = await server("jobs.list")
    assert not reply["ok"] and "does not run a transfer queue" in reply["error"]


def test_params_match_what_the_in_process_cli_builds(tmp_path: Path) -> None:
    params = send_params(series=["1.2"], paths=[Path("rel")])
    assert params["paths"] == [str(Path("rel").absolute())]
    assert retrieve_params(["1.2"], root="patient", destination=" other ") == {
        "study": ["1.2"], "root": "PATIENT", "destination": "OTHER"}


async def test_stopping_the_queue_requeues_a_running_job_but_keeps_a_cancel(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Event()

    def runner(node: str, params: dict[str, Any], ctx: job_kinds.JobContext) -> Any:
        started.set()
        ctx.cancel.wait(30)
        raise Cancelled("stopped")

    monkeypatch.setitem(job_kinds._RUNNERS, "send", runner)
    queue = TransferQueue(archive, CONFIG)
    interrupted = queue.submit("send", node="peer")
    cancelled = queue.submit("send", node="peer")
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(queue.serve(stop))
    store = JobStore(archive.index)
    for _ in range(100):
        if all(store.get(j).state == "running" for j in (interrupted, cancelled)):
            break
        await asyncio.sleep(0.05)
    await asyncio.to_thread(queue.cancel, cancelled)
    for _ in range(100):
        if store.get(cancelled).state == "cancelled":
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(dispatcher, 10)
    assert store.get(cancelled).state == "cancelled"
    resumed = store.get(interrupted)
    assert (resumed.state, resumed.error, resumed.owner) == ("queued", INTERRUPTED, "")


async def test_a_command_waits_for_the_server_to_finish_starting(archive: Archive, tmp_path: Path) -> None:
    """The control socket opens before the archive and the queue (it is the per-home lock): a
    job command in that window waits for them instead of answering that there is no queue."""
    server = Server(archive, tmp_path)
    queue = server.context.extras.pop("queue")
    server.context.ready.clear()
    assert (await server("ping"))["result"] == "pong"  # answers while starting
    shown = asyncio.create_task(server("jobs.list"))
    await asyncio.sleep(0.05)
    assert not shown.done()
    server.context.extras["queue"] = queue
    server.context.ready.set()
    reply = await asyncio.wait_for(shown, 5)
    assert reply["ok"], reply
