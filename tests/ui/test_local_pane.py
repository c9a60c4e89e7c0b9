"""Pilot tests of the local database pane: browse, filter, page, drill down, delete, dump."""

from __future__ import annotations

from dataclasses import replace

from tests.ui.synthetic import fill_studies
from tui_pacs.domain.attributes import Level
from tui_pacs.store.archive import Archive
from tui_pacs.store.query import Query
from tui_pacs.ui.panes.local.filter_bar import FilterBar
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.panes.local.record_table import RecordTable
from tui_pacs.ui.widgets.confirm import ConfirmScreen
from tui_pacs.ui.widgets.tag_screen import TagScreen
from tui_pacs.ui.widgets.tag_view import TagView


async def wait_rows(pilot, pane: LocalPane) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def status(app) -> str:
    return str(app.query_one("#local-status").render())


async def test_lists_every_sample_study(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        assert table.row_count == 8
        assert "Studies 1-8 of 8" in status(app)
        # Newest first: the default worklist order.
        assert table.current_row["StudyDate"] == "20230801"


async def test_filter_by_patient_id_and_name(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        await pilot.press("slash")
        assert isinstance(app.focused, FilterBar)
        await pilot.press(*"id=TP0003", "enter")
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        assert table.row_count == 2
        assert {r["PatientID"] for r in table.page.rows} == {"TP0003"}
        assert isinstance(app.focused, FilterBar)  # stays for the next refinement
        await pilot.press("down")
        assert isinstance(app.focused, RecordTable)
        bar = app.query_one(FilterBar)
        bar.value = "müller"
        bar.apply()
        await wait_rows(pilot, pane)
        assert {r["PatientID"] for r in table.page.rows} == {"TP0001"}
        bar.value = "date=20230401-20230531 mod=US"
        bar.apply()
        await wait_rows(pilot, pane)
        assert [r["AccessionNumber"] for r in table.page.rows] == ["ACC1004"]


async def test_bad_filter_is_marked_not_raised(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        bar = app.query_one(FilterBar)
        bar.value = "colour=red"
        bar.apply()
        await pilot.pause()
        assert bar.has_class("-invalid")
        assert app.query_one(RecordTable).row_count == 8
        bar.value = "date=-7d"
        bar.apply()
        await wait_rows(pilot, pane)
        assert not bar.has_class("-invalid")
        assert app.query_one(RecordTable).row_count == 0  # the samples are from 2023


async def test_drill_down_to_instances_and_back(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        await pilot.press("enter")
        await wait_rows(pilot, pane)
        assert table.level is Level.SERIES
        assert table.row_count == 1
        await pilot.press("enter")
        await wait_rows(pilot, pane)
        assert table.level is Level.IMAGE
        assert table.row_count == 2
        await pilot.press("backspace")
        await wait_rows(pilot, pane)
        await pilot.press("backspace")
        await wait_rows(pilot, pane)
        assert table.level is Level.STUDY and table.row_count == 8


async def test_pages_through_many_studies_from_sqlite(empty_home, make_app):
    fill_studies(empty_home, 250)
    app = make_app(empty_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        assert table.row_count == 100  # one window, never all rows
        assert "Studies 1-100 of 250" in status(app)
        await pilot.press("right_square_bracket")
        await wait_rows(pilot, pane)
        assert "Studies 101-200 of 250" in status(app)
        # Moving past the last row loads the next window with the cursor on its first row.
        table.move_cursor(row=99)
        await pilot.press("down")
        await wait_rows(pilot, pane)
        assert "Studies 201-250 of 250" in status(app)
        assert table.cursor_row == 0
        await pilot.press("up")
        await wait_rows(pilot, pane)
        assert "Studies 101-200" in status(app)
        assert table.cursor_row == 99
        # Sorting happens in SQL: the first row of the sorted list is the global minimum.
        await pilot.press("o")  # sort by Name ascending
        await wait_rows(pilot, pane)
        assert "Studies 1-100 of 250" in status(app)
        assert table.page.rows[0]["PatientName"].startswith("BERG")


async def test_delete_asks_then_removes_rows_and_files(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        doomed = table.current_uid
        with Archive.open(sample_home) as archive:
            files = [f[3] for f in archive.index.instance_files(Query(Level.STUDY, {"StudyInstanceUID": doomed}))]
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert table.row_count == 8
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await wait_rows(pilot, pane)
        await wait_rows(pilot, pane)
        assert table.row_count == 7
        assert doomed not in {r["StudyInstanceUID"] for r in table.page.rows}
        from pathlib import Path

        assert files and not any(Path(f).exists() for f in files)


async def test_dump_tags_with_search(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        await pilot.press("t")
        await wait_rows(pilot, pane)
        assert isinstance(app.screen, TagScreen)
        view = app.screen.query_one(TagView)
        assert any("PatientName" in line for line in view.lines)
        await pilot.press("ctrl+f", *"modality")
        await pilot.pause()
        shown = view.visible_labels()
        assert any("(0008,0060) CS Modality" in label for label in shown)
        # Only matches and their containers are left (the two headings, sequences, items).
        assert all("modality" in label.lower() or label.startswith(("File meta", "Data set", ">"))
                   or " SQ " in label for label in shown)
        assert not any("PatientName" in label for label in shown)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TagScreen)


async def test_columns_adapt_to_the_terminal_width(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_rows(pilot, app.query_one(LocalPane))
        table = app.query_one(RecordTable)
        narrow = [c.label for c in table.shown_columns]
        assert "Birth" not in narrow and "Name" in narrow
        await pilot.resize_terminal(160, 50)
        await pilot.pause(0.2)
        wide = [c.label for c in table.shown_columns]
        assert "Birth" in wide and "Accession" in wide
        assert table.row_count == 8


async def test_reload_keeps_the_cursor_on_its_row(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        table.move_cursor(row=5)
        chosen = table.current_uid
        pane.refresh_rows()  # what arriving instances trigger
        await wait_rows(pilot, pane)
        assert table.current_uid == chosen


async def test_last_and_first_page_keys(empty_home, make_app):
    fill_studies(empty_home, 250)
    app = make_app(empty_home)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(LocalPane)
        await wait_rows(pilot, pane)
        table = app.query_one(RecordTable)
        await pilot.press("G")
        await wait_rows(pilot, pane)
        assert "Studies 151-250 of 250" in status(app)
        assert table.cursor_row == 99
        oldest = table.current_row["StudyDate"]
        last = [row["StudyInstanceUID"] for row in table.page.rows]
        # Back one window from the end: found by seeking from its first row, the same rows as
        # counting 50 from the top would give.
        await pilot.press("left_square_bracket")
        await wait_rows(pilot, pane)
        assert "Studies 51-150 of 250" in status(app)
        counted = await app.browser.page(replace(pane.request))
        assert [row["StudyInstanceUID"] for row in table.page.rows] == \
            [row["StudyInstanceUID"] for row in counted.rows]
        assert not set(last) & {row["StudyInstanceUID"] for row in table.page.rows}
        await pilot.press("g")
        await wait_rows(pilot, pane)
        assert "Studies 1-100 of 250" in status(app)
        assert table.current_row["StudyDate"] >= oldest
