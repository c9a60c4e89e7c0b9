"""``tui-pacs preview``: one image to the terminal, as kitty, sixel, iTerm2 or half-block graphics."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui_pacs.cli.context import AppContext, pass_app

if TYPE_CHECKING:
    from tui_pacs.imaging.probe import TerminalCapabilities

PROTOCOL_CHOICES = ["auto", "kitty", "sixel", "iterm", "blocks", "blocks256"]


@click.command("preview")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instance", "instance_uid", metavar="UID", help="Show this SOP Instance from the archive.")
@click.option("--series", "series_uid", metavar="UID", help="Show a slice of this series from the archive.")
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOL_CHOICES),
    default="auto",
    show_default=True,
    help="Graphics protocol; auto probes the terminal (TUI_PACS_GRAPHICS and [ui] graphics override it).",
)
@click.option("--window", "window_text", metavar="CENTER/WIDTH", help="VOI window, e.g. 40/400 (default: the object's).")
@click.option("--frame", type=click.IntRange(min=1), default=1, show_default=True,
              help="Frame number (1-based); with --series, the slice number.")
@click.option("--size", "size_text", metavar="COLSxROWS", help="Draw into this many cells (default: the terminal).")
@click.option("--invert", is_flag=True, help="Invert the greyscale.")
@pass_app
def preview_cmd(
    app: AppContext,
    file: Path | None,
    instance_uid: str | None,
    series_uid: str | None,
    protocol: str,
    window_text: str | None,
    frame: int,
    size_text: str | None,
    invert: bool,
) -> None:
    """Print an image (FILE, --instance UID or --series UID) to the terminal."""
    from tui_pacs.imaging.encoders import Placement, encoder_for
    from tui_pacs.imaging.render import render
    from tui_pacs.imaging.sizing import parse_size, terminal_size
    from tui_pacs.imaging.viewstate import ViewState, Window

    chosen = [value for value in (file, instance_uid, series_uid) if value]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of FILE, --instance UID or --series UID")
    try:
        window = Window.parse(window_text) if window_text else None
        size = parse_size(size_text) if size_text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc

    path, frame_index = _resolve_source(app, file, instance_uid, series_uid, frame - 1)
    out = sys.stdout.buffer
    out_fd = _fileno(out)
    is_tty = out_fd is not None and os.isatty(out_fd)
    protocol, capabilities = _pick_protocol(app, protocol, probe=is_tty)
    terminal = terminal_size(out_fd, capabilities.cell_size)
    columns, rows = size if size else (terminal.columns, max(1, terminal.rows - 1))
    if protocol.startswith("blocks"):
        box = (columns, 2 * rows)
    else:
        box = (columns * terminal.cell_width, rows * terminal.cell_height)
    image = render(path, frame_index, ViewState(window=window, invert=invert, fit=box))
    payload = encoder_for(protocol).encode(image, Placement(columns=columns, rows=rows))
    if not protocol.startswith("blocks") and os.environ.get("TMUX"):
        from tui_pacs.imaging.tmux import wrap

        payload = wrap(payload)
    out.write(payload)
    if not protocol.startswith("blocks"):
        out.write(b"\r\n")
    out.flush()


def _pick_protocol(app: AppContext, requested: str, *, probe: bool) -> tuple[str, TerminalCapabilities]:
    from tui_pacs.imaging.probe import TerminalCapabilities, choose_protocol, probe_terminal
    from tui_pacs.imaging.tmux import inside_tmux, passthrough_allowed

    configured = app.config.graphics if requested == "auto" else requested
    needs_probe = requested == "auto" and not os.environ.get("TUI_PACS_GRAPHICS") and configured in ("auto", "")
    capabilities = probe_terminal() if (probe and needs_probe) else TerminalCapabilities(
        truecolour=os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit")
    )
    if requested != "auto":
        return requested, capabilities
    passthrough = passthrough_allowed() if inside_tmux() else None
    return choose_protocol(capabilities, configured, tmux_passthrough=passthrough), capabilities


def _resolve_source(
    app: AppContext, file: Path | None, instance_uid: str | None, series_uid: str | None, index: int
) -> tuple[Path, int]:
    """The file to show and the 0-based frame in it."""
    if file is not None:
        return file, index
    from tui_pacs.imaging.errors import ImagingError
    from tui_pacs.store.archive import Archive

    with Archive.open(app.paths, app.config) as archive:
        if instance_uid:
            path = archive.index.instance_path(instance_uid)
            if path is None:
                raise ImagingError(f"no instance {instance_uid} in the archive")
            return Path(path), index
        assert series_uid is not None
        paths = archive.index.series_instance_paths(series_uid)
    if not paths:
        raise ImagingError(f"no series {series_uid} in the archive")
    if len(paths) == 1:
        return Path(paths[0]), index
    if index >= len(paths):
        raise ImagingError(f"slice {index + 1} does not exist; the series has {len(paths)}")
    return Path(paths[index]), 0


def _fileno(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined,no-any-return]
    except (AttributeError, OSError, ValueError):
        return None
