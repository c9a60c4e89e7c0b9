"""An honest notice where a layer this pane needs has not landed in the build yet."""

from __future__ import annotations

from textual.widgets import Static


class PendingNotice(Static):
    """Says what is missing and why; never pretends to work."""

    def __init__(self, what: str, needs: str, *, id: str | None = None) -> None:
        super().__init__(f"{what} is not available in this build yet.\nIt needs {needs}.",
                         id=id, classes="placeholder")
