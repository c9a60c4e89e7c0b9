"""``tui-pacs serve``: the DICOM node and its transfer queue in the foreground, events as log lines.

SIGTERM and Ctrl-C stop the running jobs (they are queued again and resume
at the next start), stop accepting new associations, let open ones finish,
then exit 0. A TUI can attach to the running server through the control
socket (``paths.socket_file``), and ``send``/``move``/``get``/``jobs`` hand
their work to it there.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from datetime import datetime

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.domain.events import Event


def _print_event(event: Event) -> None:
    stamp = datetime.fromtimestamp(event.at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    click.echo(f"{stamp} {event.describe()}")
    sys.stdout.flush()


@click.command("serve")
@click.option("--aet", help="AE title to answer to (overrides local.ae_title).")
@click.option("--port", type=click.IntRange(1, 65535), help="DICOM port (overrides local.port).")
@click.option("--bind", "bind", metavar="ADDRESS", help="Address to listen on (overrides local.bind).")
@click.option("--quiet", is_flag=True, help="Do not print events (the log file still has them).")
@pass_app
def serve_cmd(app: AppContext, aet: str | None, port: int | None, bind: str | None, quiet: bool) -> None:
    """Run the DICOM node (Verification, Storage, Query/Retrieve SCP) and the transfer queue.

    Jobs submitted by `send`, `move`, `get`, `jobs retry` or an attached workstation
    run here, and go on when the client that started them has gone.
    """
    from tui_pacs.services.server import effective_config, serve

    app.setup_logging()
    config = effective_config(app.config, aet=aet, port=port, bind=bind)

    def started(service: object) -> None:
        # Everything built so far (the imports, pydicom's dictionaries, the AE's presentation
        # contexts, the archive) lives as long as the process. Frozen, a full collection no
        # longer walks it: pynetdicom calls gc.collect() every 60 accepted associations, and
        # each took about 20 ms with the interpreter lock held, stalling every association.
        gc.freeze()
        local = config.local
        click.echo(f"{local.ae_title} listening on {local.bind}:{getattr(service, 'port', local.port)}; "
                   f"running the transfer queue; control socket {app.paths.socket_file}", err=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app.paths, config, stop, on_event=None if quiet else _print_event, on_started=started)

    asyncio.run(main())
