"""The workstation attaches to a running ``tui-pacs serve`` and shows its associations live."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.support.process import PeerProcess
from tests.support.tools import free_port
from tests.ui.test_transfers import until
from tui_pacs.config.model import RemoteNode
from tui_pacs.net.scu.echo import send_c_echo
from tui_pacs.services.workstation import ATTACHED
from tui_pacs.ui.panes.log.associations import AssociationTable
from tui_pacs.ui.panes.log.log_view import LogView


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
