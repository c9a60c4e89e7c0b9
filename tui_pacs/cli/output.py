"""Shared output helpers for headless commands: tables, JSON and progress on a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(keys: Sequence[str], rows: Sequence[dict[str, Any]], *, headers: dict[str, str] | None = None,
                max_width: int = 40) -> None:
    """A plain, aligned text table (wide characters count as two columns)."""
    headers = headers or {}
    titles = [headers.get(k, k) for k in keys]
    # UIDs are never cut: scripts copy them from this output.
    cells = [[_cell(row.get(k), 10_000 if k.endswith("UID") else max_width) for k in keys] for row in rows]
    widths = [max([_width(t)] + [_width(r[i]) for r in cells]) for i, t in enumerate(titles)]
    click.echo("  ".join(_pad(t, w) for t, w in zip(titles, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(_pad(c, w) for c, w in zip(row, widths)).rstrip())


def _cell(value: Any, max_width: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a TTY."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._shown = False

    def update(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / total) if total else width
        bar = "█" * filled + "·" * (width - filled)
        tail = detail[-40:]
        sys.stderr.write(f"\r{self.label} {bar} {done}/{total} {tail}\x1b[K")
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
