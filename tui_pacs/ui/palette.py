"""The command palette provider: every binding as a command, plus panes and themes.

Commands come from the same binding catalogue as the help screen, so an
action can never have a key but no command. A command runs on the widget
that owns the binding (the first one mounted), which is how its key would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from tui_pacs.ui.keymap import BoundAction

if TYPE_CHECKING:
    from tui_pacs.ui.app import WorkstationApp


class WorkstationCommands(Provider):
    """Context commands of the workstation."""

    @property
    def workstation(self) -> WorkstationApp:
        return cast("WorkstationApp", self.app)

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.workstation
        commands: list[tuple[str, Callable[[], Any], str]] = []
        for bound in app.binding_catalogue():
            node = self._owner_node(bound)
            if node is None or bound.owner is type(app) and bound.binding.action == "command_palette":
                continue
            group = getattr(bound.owner, "HELP_GROUP", "Workstation")
            title = f"{group}: {bound.binding.description}"
            commands.append((title, partial(self._run, node, bound.binding.action), f"id {bound.id}"))
        for name in app.theme_names():
            commands.append((f"Theme: {name}", partial(app.set_workstation_theme, name), "switch the theme"))
        return commands

    def _owner_node(self, bound: BoundAction) -> DOMNode | None:
        app = self.workstation
        if isinstance(app, bound.owner):
            return app
        for screen in reversed(app.screen_stack):
            if isinstance(screen, bound.owner):
                return screen
            found = screen.query(bound.owner)
            if found:
                return found.first()
        return None

    def _run(self, node: DOMNode, action: str) -> None:
        self.app.call_later(self.app.run_action, action, node)

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
