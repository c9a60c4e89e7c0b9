"""Pilot tests of the shell: panes by number, help, key map, themes, command palette."""

from __future__ import annotations

from textual.widgets import TabbedContent

from tui_pacs.ui.help import HelpScreen
from tui_pacs.ui.panes.local.pane import LocalPane
from tui_pacs.ui.widgets.tag_screen import TagScreen


async def test_number_keys_switch_panes(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(80, 24)) as pilot:
        tabs = app.query_one("#panes", TabbedContent)
        for key, pane in (("2", "nodes"), ("3", "transfers"), ("4", "log"), ("5", "preview"), ("1", "local")):
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == pane


async def test_help_lists_every_binding_id(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        ids = {str(table.get_row_at(i)[3]) for i in range(table.row_count)}
        assert {"local.delete", "local.filter", "app.help", "log.level"} <= ids
        await pilot.press("escape")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_keymap_from_config_remaps_and_reports_unknown_ids(sample_home, make_app):
    config = '[ui.keymap]\n"local.dump" = "ctrl+d"\n"no.such" = "z"\n'
    app = make_app(sample_home, config)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("t")  # the old key no longer dumps
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, TagScreen)
        await pilot.press("ctrl+d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TagScreen)
    assert any("no.such" in n for n in notes)


async def test_theme_from_config_and_cycling(sample_home, make_app):
    app = make_app(sample_home, '[ui]\ntheme = "light"\n')
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.has_class("theme-light") and app.theme == "tui-pacs-light"
        await pilot.press("ctrl+t")
        assert app.has_class("theme-high-contrast") and not app.has_class("theme-light")
        assert app.theme == "tui-pacs-high-contrast"


async def test_palette_offers_pane_actions_and_themes(sample_home, make_app):
    app = make_app(sample_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"theme high")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.workstation_theme == "high-contrast"
        await pilot.press("ctrl+p")
        await pilot.press(*"local tags")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert isinstance(app.screen, TagScreen)
        assert app.query_one(LocalPane) is not None


async def test_mouse_rows_headers_and_key_bar(sample_home, make_app):
    from tui_pacs.ui.panes.local.filter_bar import FilterBar
    from tui_pacs.ui.panes.local.record_table import RecordTable

    app = make_app(sample_home)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one(RecordTable)
        await pilot.click(RecordTable, offset=(5, 3))  # header is line 0, so this is row 2
        assert table.cursor_row == 2
        await pilot.click(RecordTable, offset=(5, 3), times=2)  # double click opens the study
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.level is not None and table.level.value == "SERIES"
        await pilot.press("backspace")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click(RecordTable, offset=(4, 0))  # the Name header sorts by name
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.page.request.order == (("PatientName", False),)
        await pilot.click("#key-bar", offset=(2, 0))  # the first key shown: "/ Filter"
        await pilot.pause()
        assert isinstance(app.focused, FilterBar)
