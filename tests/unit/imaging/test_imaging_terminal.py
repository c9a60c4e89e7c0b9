"""Sizing from the pty's window size, tmux passthrough wrapping, and the series prefetcher."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import termios
import threading
from pathlib import Path

import numpy as np
import pytest

from tui_pacs.imaging.errors import ImagingError
from tui_pacs.imaging.prefetch import SeriesPrefetcher
from tui_pacs.imaging.sizing import DEFAULT_CELL, parse_size, query_winsize, terminal_size
from tui_pacs.imaging.tmux import passthrough_allowed, wrap
from tui_pacs.imaging.viewstate import ViewState, Window


def _pty_with_size(rows: int, cols: int, xpixel: int, ypixel: int) -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpixel, ypixel))
    return master, slave


@pytest.mark.parametrize(
    ("winsize", "probed", "expected"),
    [
        ((40, 100, 1000, 800), None, (100, 40, 10, 20)),  # TIOCGWINSZ pixel fields win
        ((40, 100, 1000, 800), (7, 14), (100, 40, 10, 20)),
        ((40, 100, 0, 0), (7, 14), (100, 40, 7, 14)),  # then the CSI 16 t reply
        ((40, 100, 0, 0), None, (100, 40, *DEFAULT_CELL)),  # then the default
        ((0, 0, 0, 0), None, (80, 24, *DEFAULT_CELL)),  # a 0x0 terminal does not crash
    ],
)
def test_terminal_size(monkeypatch: pytest.MonkeyPatch, winsize: tuple[int, int, int, int],
                       probed: tuple[int, int] | None, expected: tuple[int, int, int, int]) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    master, slave = _pty_with_size(*winsize)
    try:
        size = terminal_size(slave, probed)
    finally:
        os.close(master)
        os.close(slave)
    assert (size.columns, size.rows, size.cell_width, size.cell_height) == expected


def test_negative_fd_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's print capture answers fileno() with -1 while the app runs (the f key asks)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    assert query_winsize(-1) is None
    size = terminal_size(-1)
    assert size.columns > 0 and size.rows > 0


def test_parse_size() -> None:
    assert parse_size("80x24") == (80, 24)
    for bad in ("80", "0x10", "ax2"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_tmux_wrap_doubles_escapes_per_sequence() -> None:
    payload = b"\x1b_Ga=T;AAAA\x1b\\\x1b_Gm=0;BBBB\x1b\\"
    wrapped = wrap(payload)
    assert wrapped == (b"\x1bPtmux;\x1b\x1b_Ga=T;AAAA\x1b\x1b\\\x1b\\"
                       b"\x1bPtmux;\x1b\x1b_Gm=0;BBBB\x1b\x1b\\\x1b\\")
    # Unwrapping gives the original back.
    inner = [piece[len(b"\x1bPtmux;"):].replace(b"\x1b\x1b", b"\x1b") for piece in wrapped.split(b"\x1b\\\x1bPtmux;")]
    assert b"".join(inner).count(b"AAAA") == 1


def test_passthrough_allowed_reads_the_option() -> None:
    def fake(answer: str, code: int = 0, err: str = ""):  # type: ignore[no-untyped-def]
        return lambda *a, **k: subprocess.CompletedProcess(a, code, answer, err)

    assert passthrough_allowed(fake("on\n"), tmux="tmux")
    assert passthrough_allowed(fake("all\n"), tmux="tmux")
    assert not passthrough_allowed(fake("off\n"), tmux="tmux")
    assert passthrough_allowed(fake("", 1, "invalid option: allow-passthrough"), tmux="tmux")  # tmux < 3.3
    assert not passthrough_allowed(fake("", 1, "no server running"), tmux="tmux")


class CountingRender:
    """A stand-in for render that records which slices were rendered and on which thread."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.fail_on = fail_on
        self.rendered = threading.Condition(self.lock)

    def __call__(self, path: object, frame: int, view: ViewState) -> np.ndarray:
        if str(path) == self.fail_on:
            raise ImagingError("broken slice")
        with self.lock:
            self.calls.append((str(path), threading.current_thread().name))
            self.rendered.notify_all()
        center = view.window.center if view.window else 0
        return np.full((2, 2), int(str(path).split("-")[1]) + center, dtype=np.int64)

    def wait_for(self, count: int) -> None:
        with self.lock:
            assert self.rendered.wait_for(lambda: len(self.calls) >= count, timeout=10)


def test_prefetcher_decodes_ahead_in_the_background() -> None:
    paths = [f"slice-{n}" for n in range(10)]
    renderer = CountingRender()
    with SeriesPrefetcher(paths, ViewState(), ahead=3, behind=1, render_function=renderer) as series:
        assert series.get(0)[0, 0] == 0
        renderer.wait_for(4)  # slice 0 now, 1..3 in the background
        assert {p for p, _ in renderer.calls} == {"slice-0", "slice-1", "slice-2", "slice-3"}
        assert all("prefetch" in thread for p, thread in renderer.calls if p != "slice-0")
        assert series.is_ready(1)
        assert series.get(1)[0, 0] == 1
        rendered_before = [p for p, _ in renderer.calls].count("slice-1")
        renderer.wait_for(5)  # slice 4 joins
        assert [p for p, _ in renderer.calls].count("slice-1") == rendered_before == 1
        series.set_view(ViewState(window=Window(100, 10)))  # new window: the cache is stale
        assert series.get(1)[0, 0] == 101


def test_prefetcher_passes_errors_and_bounds() -> None:
    renderer = CountingRender(fail_on="slice-2")
    with SeriesPrefetcher([f"slice-{n}" for n in range(3)], ViewState(), render_function=renderer) as series:
        with pytest.raises(ImagingError):
            series.get(2)
        with pytest.raises(IndexError):
            series.get(3)
        assert len(series) == 3


def test_prefetcher_with_the_real_render(tmp_path: Path) -> None:
    from conftest import bundled

    paths = [bundled("CT_small.dcm"), bundled("MR_small.dcm")]
    with SeriesPrefetcher(paths, ViewState(fit=(32, 32))) as series:
        assert series.get(0).shape == (32, 32)
        assert series.get(1).shape == (32, 32)


def test_prefetcher_can_prepare_encoded_bytes() -> None:
    """A viewer may prefetch the terminal bytes, not only the pixels."""
    from conftest import bundled

    from tui_pacs.imaging.encoders import Placement, encoder_for
    from tui_pacs.imaging.render import render

    def to_bytes(path: object, frame: int, view: ViewState) -> bytes:
        return encoder_for("kitty").encode(render(path, frame, view), Placement())  # type: ignore[arg-type]

    with SeriesPrefetcher([bundled("MR_small.dcm")], ViewState(), render_function=to_bytes) as series:
        assert series.get(0).startswith(b"\x1b_Ga=d")
