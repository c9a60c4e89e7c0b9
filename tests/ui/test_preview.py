"""Pilot tests of the preview pane: open a series, scroll slices, window, invert, tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.ui.test_transfers import until
from tui_pacs.domain.attributes import Level
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.panes.local.record_table import RecordTable
from tui_pacs.ui.panes.preview.image_view import HalfBlockImage
from tui_pacs.ui.panes.preview.pane import PreviewPane
from tui_pacs.ui.widgets.tag_view import TagView


async def open_ct_series(pilot, app) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    table = app.query_one(RecordTable)
    ct_row = next(i for i, r in enumerate(table.page.rows) if r["AccessionNumber"] == "ACC1001")
    table.move_cursor(row=ct_row)
    await pilot.press("enter")  # the study's series
    await until(pilot, lambda: table.level is not None and table.level.value == "SERIES" and table.row_count)
    await pilot.press("p")


async def test_preview_a_ct_series_and_scroll(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ct_series(pilot, app)
        pane = app.query_one(PreviewPane)
        image = app.query_one(HalfBlockImage)
        await until(pilot, lambda: image.rgb is not None)
        assert app.focused is pane
        status = str(app.query_one("#preview-status").render())
        assert "CT" in status and "slice 1/4" in status
        first = image.rgb.copy()
        assert first.std() > 0  # a phantom, not a blank
        tags = app.query_one(TagView)
        assert any("PatientName" in line for line in tags.lines)
        await pilot.press("j")
        await until(pilot, lambda: "slice 2/4" in str(app.query_one("#preview-status").render()))
        await pilot.press("i")
        await until(pilot, lambda: "inverted" in str(app.query_one("#preview-status").render()))
        inverted = image.rgb.astype(int)
        await pilot.press("i")
        await until(pilot, lambda: "inverted" not in str(app.query_one("#preview-status").render()))
        # Inverted is 255 - normal, up to rounding in the scaling filter.
        assert np.abs(inverted + image.rgb.astype(int) - 255).mean() < 1.0
        await pilot.press("w")  # the object's window or the first CT preset
        await until(pilot, lambda: "W auto" not in str(app.query_one("#preview-status").render()))
        await pilot.press("r")
        await until(pilot, lambda: "W auto" in str(app.query_one("#preview-status").render()))


async def test_fine_window_steps(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_ct_series(pilot, app)
        pane = app.query_one(PreviewPane)
        await until(pilot, lambda: pane.session is not None and app.query_one(HalfBlockImage).rgb is not None)
        await pilot.press("plus")
        await until(pilot, lambda: pane.session.view.window is not None)
        first = pane.session.view.window
        await pilot.press("plus", "greater_than_sign")
        await until(pilot, lambda: pane.session.view.window.width < first.width)
        assert pane.session.view.window.center > first.center or pane.session.view.window.width < first.width


async def test_enter_on_an_instance_previews_it(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_ct_series(pilot, app)
        await pilot.press("1", "enter")  # series -> instances
        table = app.query_one(RecordTable)
        await until(pilot, lambda: table.level.value == "IMAGE" and table.row_count == 4)
        table.move_cursor(row=2)
        await pilot.press("enter")
        pane = app.query_one(PreviewPane)
        await until(pilot, lambda: pane.session is not None and "slice 3/4" in
                    str(app.query_one("#preview-status").render()))
        assert app.query_one(LocalPane) is not None


async def drill_into_ct_study(pilot, app) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    table = app.query_one(RecordTable)
    table.move_cursor(row=next(i for i, r in enumerate(table.page.rows) if r["AccessionNumber"] == "ACC1001"))
    await pilot.press("enter")
    await until(pilot, lambda: table.level is not None and table.level.value == "SERIES" and table.row_count)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 50)])
async def test_a_resting_cursor_prepares_the_image_p_then_shows(sample_home, make_app, size):
    app = make_app(sample_home)
    async with app.run_test(size=size) as pilot:
        await drill_into_ct_study(pilot, app)
        pane = app.query_one(PreviewPane)
        # The cursor rests on the CT series: its first image is rendered before anyone asks.
        await until(pilot, lambda: pane._prepared is not None and pane._prepared.done.is_set())
        prepared = pane._prepared
        assert prepared.image is not None and pane.session is None
        await pilot.press("p")
        image = app.query_one(HalfBlockImage)
        # No worker to wait for: the prepared image is in place by the time the pane is shown ...
        assert image.rgb is not None and pane.session is prepared.session
        await pilot.pause(0.2)
        # ... and it was rendered for the box the layout then gave the image (no second render).
        assert image.size.width and prepared.box == image.pixel_box
        assert image.rgb.shape[1] <= prepared.box[0] and image.rgb.shape[0] <= prepared.box[1]
        assert "slice 1/4" in str(app.query_one("#preview-status").render())
        await until(pilot, lambda: any("PatientName" in line for line in app.query_one(TagView).lines))


async def test_p_at_once_renders_the_selection_itself(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await drill_into_ct_study(pilot, app)
        pane = app.query_one(PreviewPane)
        await pilot.press("p")  # before the cursor has rested: nothing prepared yet
        image = app.query_one(HalfBlockImage)
        await until(pilot, lambda: image.rgb is not None)
        assert pane.session is not None and "slice 1/4" in str(app.query_one("#preview-status").render())


async def test_a_failed_preparation_is_quiet_until_asked_for(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one(RecordTable)
        table.move_cursor(row=next(i for i, r in enumerate(table.page.rows) if r["AccessionNumber"] == "ACC1001"))
        for *_, path in app.browser.instance_files(Level.STUDY, [table.current_uid]):
            Path(path).write_bytes(b"not DICOM")
        await pilot.press("enter")
        pane = app.query_one(PreviewPane)
        await until(pilot, lambda: pane._prepared is not None and pane._prepared.done.is_set())
        assert pane._prepared.image is None
        assert not app._notifications  # resting on a broken series says nothing ...
        await pilot.press("p")
        await until(pilot, lambda: bool(app._notifications))  # ... asking for it says why
