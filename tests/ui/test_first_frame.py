"""The first frame of the workstation is built from the local pane alone.

Everything else (the other panes, the node with pynetdicom, pydicom, numpy
and the decoders) starts once the first rows are on screen, so it never
competes with them. Checked in a fresh interpreter: the test process has
imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tui_pacs.config.paths import Paths

REPO = Path(__file__).resolve().parents[2]
LATER = ("pydicom", "pynetdicom", "numpy", "PIL", "tui_pacs.services.workstation", "tui_pacs.ui.panes.nodes.pane",
         "tui_pacs.ui.panes.preview.pane")

SCRIPT = """
import asyncio, json, sys
from tui_pacs.config.loader import load_config
from tui_pacs.config.paths import resolve_paths
from tui_pacs.ui.app import WorkstationApp
from tui_pacs.ui.panes.local.pane import LocalPane

async def main():
    paths = resolve_paths(sys.argv[1])
    app = WorkstationApp(paths, load_config(paths.config_file), run_scp=False)
    seen = {}
    shown = LocalPane._show_status

    def first_rows(pane):
        seen.setdefault("at first rows", sorted(m for m in sys.argv[2:] if m in sys.modules))
        shown(pane)

    LocalPane._show_status = first_rows
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()  # the node and the hidden panes start after the rows
        await pilot.pause()
        seen["after start"] = sorted(m for m in sys.argv[2:] if m in sys.modules)
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_first_rows_come_before_the_node_and_the_other_panes(sample_home: Paths) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(sample_home.config_file.parent), *LATER],
                            check=False, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["at first rows"] == []
    # And they do start: the node and the panes are up once the workers are done.
    assert {"pydicom", "tui_pacs.services.workstation", "tui_pacs.ui.panes.nodes.pane"} <= set(seen["after start"])
