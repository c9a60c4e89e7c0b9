"""The demo: a throw-away home with sample data, and a second node to talk to.

``tui-pacs demo`` must let a newcomer echo, query, retrieve, send and
preview within a minute with no configuration. So besides importing
``sample_data/local`` into the temporary home, it serves
``sample_data/remote`` from a second archive in the same temporary
directory, with the real SCP on a free loopback port, and configures it as
the node ``demo-pacs``. The demo PACS knows the workstation's AE, so C-MOVE
to us works too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tui_pacs.config.model import Config, LocalNode, RemoteNode
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.config.writer import save_node, set_value
from tui_pacs.net.ports import free_loopback_port
from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import ImportReport, import_paths

log = logging.getLogger(__name__)

DEMO_NODE = "demo-pacs"
DEMO_PACS_AE = "DEMOPACS"
DEMO_WORKSTATION_AE = "TUIPACS"


@dataclass
class DemoSetup:
    """What the demo made: the workstation's home, its import report, the PACS node."""

    paths: Paths
    report: ImportReport
    node: RemoteNode


class DemoPacs:
    """A second archive served by the tui-pacs SCP on loopback (blocking start/stop)."""

    def __init__(self, root: Path, source: Path, workstation: LocalNode) -> None:
        self.paths = resolve_paths(root)
        self.source = source
        self.workstation = workstation
        self.archive: Archive | None = None
        self.server: object | None = None

    def start(self) -> RemoteNode:
        from tui_pacs.net.scp.base import ScpContext
        from tui_pacs.net.scp.server import DicomServer

        self.paths.ensure()
        local = LocalNode(ae_title=DEMO_PACS_AE, bind="127.0.0.1", port=0)
        us = RemoteNode(name="workstation", ae_title=self.workstation.ae_title, host="127.0.0.1",
                        port=self.workstation.port)
        config = Config(local=local, nodes={"workstation": us})
        self.archive = Archive.open(self.paths, config)
        if self.source.is_dir() and not self.archive.index.totals()["instance"]:
            import_paths(self.archive, [self.source])
        server = DicomServer(ScpContext(self.archive, config), bind="127.0.0.1", port=0)
        server.start()
        self.server = server
        log.info("demo PACS %s listening on 127.0.0.1:%d", DEMO_PACS_AE, server.port)
        return RemoteNode(name=DEMO_NODE, ae_title=DEMO_PACS_AE, host="127.0.0.1", port=server.port,
                          note="the demo's second archive (sample_data/remote)")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(2.0)  # type: ignore[attr-defined]
            self.server = None
        if self.archive is not None:
            self.archive.close()
            self.archive = None


def prepare_demo(home: Path, sample_data: Path) -> tuple[DemoSetup, DemoPacs]:
    """Import the local samples into ``home``, start the demo PACS, write the config for both."""
    paths = resolve_paths(home)
    paths.ensure()
    port = free_loopback_port()
    set_value(paths.config_file, "local.ae_title", DEMO_WORKSTATION_AE)
    set_value(paths.config_file, "local.bind", "127.0.0.1")
    set_value(paths.config_file, "local.port", port)
    local_source = sample_data / "local" if (sample_data / "local").is_dir() else sample_data
    with Archive.open(paths) as archive:
        report = import_paths(archive, [local_source])
    pacs = DemoPacs(home / "demo-pacs", sample_data / "remote",
                    LocalNode(ae_title=DEMO_WORKSTATION_AE, bind="127.0.0.1", port=port))
    node = pacs.start()
    save_node(paths.config_file, node)
    return DemoSetup(paths, report, node), pacs
