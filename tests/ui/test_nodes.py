"""Pilot tests of the remote nodes pane against a real dcmqrscp: edit nodes, echo, query, retrieve."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tools import free_port
from tests.ui.test_transfers import job_states, until
from tui_pacs.config.loader import load_config
from tui_pacs.config.model import LocalNode
from tui_pacs.services.demo import DemoPacs
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.panes.log.associations import AssociationTable
from tui_pacs.ui.panes.nodes.node_form import NodeFormScreen
from tui_pacs.ui.panes.nodes.node_list import NodeList
from tui_pacs.ui.panes.nodes.results_table import ResultsTable
from tui_pacs.ui.panes.preview.image_view import HalfBlockImage
from tui_pacs.ui.panes.transfers.job_table import JobTable

REMOTE = Path(__file__).resolve().parents[2] / "sample_data" / "remote"


@pytest.fixture
def pacs(tmp_path):
    """The demo PACS (tui-pacs's own SCP over sample_data/remote) on a free loopback port."""
    port = free_port()
    server = DemoPacs(tmp_path / "pacs", REMOTE, LocalNode(ae_title="TUITEST", bind="127.0.0.1", port=port))
    node = server.start()
    try:
        yield node, port
    finally:
        server.stop()


def qr_config(node, local_port: int) -> str:
    return (f'# my workstation\n[local]\nae_title = "TUITEST"\nport = {local_port}\nbind = "127.0.0.1"\n\n'
            f'# the test PACS\n[nodes.pacs]\nae_title = "{node.ae_title}"\nhost = "127.0.0.1"\n'
            f'port = {node.port}\n')


async def test_add_and_edit_a_node_keeps_config_comments(sample_home, make_app):
    app = make_app(sample_home, '# keep me\n[local]\nae_title = "TUITEST"\n')
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        assert isinstance(app.focused, NodeList)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, NodeFormScreen)
        form = app.screen
        form.query_one("#node-name").value = "orthanc"
        form.query_one("#node-ae").value = "THIS AE TITLE IS TOO LONG"
        form.query_one("#node-host").value = "127.0.0.1"
        form.query_one("#node-port").value = "4242"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NodeFormScreen)  # invalid AE title: stays open with the reason
        assert "AE title" in str(form.query_one("#node-error").render())
        form.query_one("#node-ae").value = "ORTHANC"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "orthanc" in app.query_one(NodeList).nodes)
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#node-port").value = "4243"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.query_one(NodeList).nodes["orthanc"].port == 4243)
    text = sample_home.config_file.read_text()
    assert "# keep me" in text
    assert load_config(sample_home.config_file).nodes["orthanc"].port == 4243
    assert app.config.nodes["orthanc"].ae_title == "ORTHANC"


async def test_echo_query_drill_down_retrieve_and_check(sample_home, make_app, pacs):
    scp, local_port = pacs
    # The embedded SCP receives the C-MOVE sub-operations, as in `tui-pacs demo`.
    app = make_app(sample_home, qr_config(scp, local_port), run_scp=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "ctrl+e")
        nodes = app.query_one(NodeList)
        await until(pilot, lambda: "pacs" in nodes.echoes)
        assert nodes.echoes["pacs"].ok
        await pilot.press("slash", "enter")  # empty form: every study
        results = app.query_one(ResultsTable)
        await until(pilot, lambda: results.row_count == 4)
        assert app.focused is results
        study_uid = results.current_uid
        await pilot.press("enter")  # drill down to the study's series
        await until(pilot, lambda: results.level is not None and results.level.value == "SERIES"
                    and results.row_count > 0)
        await pilot.press("backspace")
        await until(pilot, lambda: results.level.value == "STUDY" and results.row_count == 4)
        results.move_cursor(row=results.get_row_index(study_uid))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "done" in job_states(app).values(), timeout=30)
        # The PACS's C-STORE association into our embedded SCP showed in the live table.
        live = app.query_one(AssociationTable).live.values()
        assert any(a.peer_ae == "DEMOPACS" and a.inbound and a.instances > 0 for a in live)
        await pilot.press("2", "ctrl+k")
        await until(pilot, lambda: "✓" in str(results.get_cell(study_uid, "_local")))
        # The retrieved study is now in the local database, and it previews.
        local = app.query_one(LocalPane)
        await until(pilot, lambda: local.page is not None and study_uid in {
            r["StudyInstanceUID"] for r in local.page.rows})
        await pilot.press("1")
        table = local.table
        table.move_cursor(row=[r["StudyInstanceUID"] for r in local.page.rows].index(study_uid))
        await pilot.press("enter")
        await until(pilot, lambda: table.level is not None and table.level.value == "SERIES")
        await pilot.press("p")
        image = app.query_one(HalfBlockImage)
        await until(pilot, lambda: image.rgb is not None and image.rgb.std() > 0)


async def test_echo_failure_is_one_notification(sample_home, make_app):
    config = f'[local]\nae_title = "TUITEST"\n[nodes.down]\nae_title = "DOWN"\nhost = "127.0.0.1"\nport = {free_port()}\n'
    app = make_app(sample_home, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2", "ctrl+e")
        nodes = app.query_one(NodeList)
        await until(pilot, lambda: "down" in nodes.echoes)
        assert not nodes.echoes["down"].ok
        assert any("down" in n.title.lower() for n in app._notifications)
        assert app.query_one(JobTable) is not None
