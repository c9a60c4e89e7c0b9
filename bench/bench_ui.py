"""Workstation latency: first frame, keystroke to screen on 100,000 studies, first preview.

    python bench/bench_ui.py [--studies 100000] [--repeat 5]

Figures (medians over ``--repeat`` runs, in milliseconds):

* first frame: process start to the study list on screen, in a real
  terminal (tmux on a private socket), and in-process (app constructed to
  first rows painted, headless);
* keystroke to screen on a synthetic index of ``--studies`` studies: the
  key is pressed through Textual's Pilot and the clock stops when the pane
  has repainted with the new rows; each is shown with the same SQL run
  directly on the index (the peer) and the ratio;
* first preview: ``p`` on a local CT series to the half-block image painted.

Goals from the issue: first frame < 1 s, scroll/filter < 100 ms, first preview < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui.synthetic import fill_studies
from tui_pacs.config.loader import load_config
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.domain.attributes import Level
from tui_pacs.services.local_browser import PageRequest
from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import import_paths
from tui_pacs.store.query import build_count, build_select

CONFIG = '[local]\nae_title = "BENCH"\n'


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def report(name: str, samples: list[float], goal_ms: float, peer: list[float] | None = None) -> None:
    value = median_ms(samples)
    line = f"{name:<44} {value:8.1f} ms  (goal < {goal_ms:.0f} ms: {'ok' if value < goal_ms else 'MISSED'})"
    if peer:
        peer_ms = median_ms(peer)
        line += f"   raw SQL {peer_ms:6.1f} ms, ratio {value / peer_ms if peer_ms else float('inf'):5.1f}x"
    print(line, flush=True)


def raw_sql(paths: Paths, request: PageRequest) -> float:
    """The peer: the same page and count straight through sqlite3, no UI."""
    query = request.query()
    select = build_select(query, order=list(request.order) or None, limit=request.limit, offset=request.offset)
    count = build_count(query)
    conn = sqlite3.connect(paths.index_file)
    try:
        start = time.perf_counter()
        conn.execute(select.sql, select.params).fetchall()
        conn.execute(count.sql, count.params).fetchone()
        return time.perf_counter() - start
    finally:
        conn.close()


PAINTS: list[float] = []


def record_paints() -> None:
    """Timestamp every screen update Textual makes (the headless driver still composes frames)."""
    from textual.screen import Screen

    for name in ("_compositor_refresh", "_refresh_layout"):
        original = getattr(Screen, name)

        def wrapper(self, *args, __original=original, **kwargs):  # type: ignore[no-untyped-def]
            result = __original(self, *args, **kwargs)
            PAINTS.append(time.perf_counter())
            return result

        setattr(Screen, name, wrapper)


async def next_paint_after(moment: float, timeout: float = 5.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        later = [p for p in PAINTS if p > moment]
        if later:
            return later[0]
        await asyncio.sleep(0.001)
    raise RuntimeError("no repaint")


async def timed_key(app, pilot, key: str, ready: Callable[[], bool]) -> float:
    """Keystroke to screen: post the key event, wait for the state change, then for the next paint."""
    from textual import events

    start = time.perf_counter()
    app.post_message(events.Key(key, None))
    while not ready():
        await asyncio.sleep(0.0005)
    painted = await next_paint_after(time.perf_counter())
    await app.workers.wait_for_complete()
    await pilot.pause(0.05)  # settle before the next sample
    return painted - start


def status(app) -> str:
    return str(app.query_one("#local-status").render())


async def bench_in_process(paths: Paths, repeat: int) -> None:
    from tui_pacs.ui.app import WorkstationApp
    from tui_pacs.ui.panes.local.filter_bar import FilterBar
    from tui_pacs.ui.panes.local.pane import LocalPane

    config = load_config(paths.config_file)
    firsts: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        app = WorkstationApp(paths, config, run_scp=False)
        async with app.run_test(size=(160, 50)) as pilot:
            pane = app.query_one(LocalPane)
            while pane.page is None:
                await asyncio.sleep(0.0005)
            firsts.append(await next_paint_after(time.perf_counter()) - start)
            await pilot.pause()
    report("first frame, in-process (rows painted)", firsts, 1000)

    app = WorkstationApp(paths, config, run_scp=False)
    async with app.run_test(size=(160, 50)) as pilot:
        pane = app.query_one(LocalPane)
        while pane.page is None:
            await asyncio.sleep(0.001)
        await pilot.pause()
        table = pane.table

        async def measure(name: str, action: Callable[[], Awaitable[float]], peer: Callable[[], float]) -> None:
            samples, peers = [], []
            for _ in range(repeat):
                samples.append(await action())
                peers.append(peer())
            report(name, samples, 100, peers)

        async def down() -> float:
            table.move_cursor(row=10)
            row = table.cursor_row
            return await timed_key(app, pilot, "down", lambda: table.cursor_row == row + 1)

        async def next_page() -> float:
            before = pane.request.offset
            return await timed_key(app, pilot, "right_square_bracket", lambda: pane.request.offset != before)

        async def past_last_row() -> float:
            table.move_cursor(row=table.row_count - 1)
            before = pane.request.offset
            return await timed_key(app, pilot, "down", lambda: pane.request.offset != before)

        async def deep_page() -> float:
            before = pane.request.offset
            start = time.perf_counter()
            pane.load_page(PageRequest(Level.STUDY, offset=90_000 + (before % 7) * 100))
            while pane.request.offset == before:
                await asyncio.sleep(0.0005)
            painted = await next_paint_after(time.perf_counter())
            await pilot.pause(0.05)
            return painted - start

        async def apply_filter(text: str) -> float:
            bar = app.query_one(FilterBar)
            bar.value = text
            bar.focus()
            await pilot.pause()
            previous = pane.page
            return await timed_key(app, pilot, "enter", lambda: pane.page is not previous)

        async def sort_by_name() -> float:
            previous = pane.page
            return await timed_key(app, pilot, "o", lambda: pane.page is not previous)

        page = PageRequest(Level.STUDY)
        await measure("cursor down one row", down, lambda: 0.0 or raw_sql(paths, page))
        await measure("next page (]) ", next_page, lambda: raw_sql(paths, PageRequest(offset=pane.request.offset)))
        await measure("down past the last row (next window)", past_last_row,
                      lambda: raw_sql(paths, PageRequest(offset=pane.request.offset)))
        await measure("jump to offset ~90,000", deep_page, lambda: raw_sql(paths, PageRequest(offset=90_000)))
        filters = {"name=SMITH*": {"PatientName": "SMITH*"}, "date=20240101-20240131": {"StudyDate": "20240101-20240131"},
                   "mod=CT": {"ModalitiesInStudy": "CT"}, "id=SYN001234": {"PatientID": "SYN001234"}}
        for text, keys in filters.items():
            await measure(f"filter {text}", lambda t=text: apply_filter(t),
                          lambda k=keys: raw_sql(paths, PageRequest(Level.STUDY, k)))
            table.focus()
        await apply_filter("")
        table.focus()
        await measure("sort (o, cycling columns)", sort_by_name,
                      lambda: raw_sql(paths, PageRequest(order=(("PatientName", False),))))


async def bench_preview(paths: Paths, repeat: int, size: tuple[int, int]) -> None:
    from tui_pacs.ui.app import WorkstationApp
    from tui_pacs.ui.panes.local.pane import LocalPane
    from tui_pacs.ui.panes.preview.image_view import HalfBlockImage

    config = load_config(paths.config_file)
    samples: list[float] = []
    for _ in range(repeat):
        app = WorkstationApp(paths, config, run_scp=False)
        async with app.run_test(size=size) as pilot:
            pane = app.query_one(LocalPane)
            while pane.page is None:
                await asyncio.sleep(0.001)
            await app.workers.wait_for_complete()
            bar = app.query_one("#local-filter")
            bar.value = "acc=ACC1001"
            bar.apply()
            await app.workers.wait_for_complete()
            await pilot.press("enter")  # into the CT study's series
            await app.workers.wait_for_complete()
            await pilot.pause(0.3)  # a person's pause between keys: no frame still being drawn
            image = app.query_one(HalfBlockImage)
            from textual import events

            start = time.perf_counter()
            app.post_message(events.Key("p", "p"))
            while image.rgb is None:
                await asyncio.sleep(0.0005)
            samples.append(await next_paint_after(time.perf_counter()) - start)
    report(f"first preview, local CT series, {size[0]}x{size[1]}", samples, 200)


def bench_real_terminal(home: Path, repeat: int) -> None:
    tmux = shutil.which("tmux")
    if tmux is None:
        print("first frame, real terminal: tmux not installed, not measured")
        return
    script = Path(sys.executable).with_name("tui-pacs")
    command = f"{script}" if script.exists() else f"{sys.executable} -m tui_pacs"
    socket = f"tuibench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    samples: list[float] = []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([tmux, "-L", socket, "new-session", "-d", "-s", "b", "-x", "160", "-y", "50",
                            f"env -u COLUMNS -u LINES TUI_PACS_HOME={home} TUI_PACS_GRAPHICS=blocks {command}"],
                           check=True)
            while True:
                screen = subprocess.run([tmux, "-L", socket, "capture-pane", "-p", "-t", "b"],
                                        capture_output=True, text=True, check=False).stdout
                if "Studies 1-" in screen:
                    break
                if time.perf_counter() - start > 30:
                    raise RuntimeError("the workstation did not show its study list within 30 s")
                time.sleep(0.01)
            samples.append(time.perf_counter() - start)
            subprocess.run([tmux, "-L", socket, "send-keys", "-t", "b", "C-q"], check=True)
            while subprocess.run([tmux, "-L", socket, "has-session", "-t", "b"], capture_output=True, check=False).returncode == 0:
                time.sleep(0.05)
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, check=False)
        (Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)
    report("first frame, real terminal (exec to rows)", samples, 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    record_paints()
    work = Path(tempfile.mkdtemp(prefix="tui-pacs-bench-ui-"))
    try:
        big = resolve_paths(work / "big")
        big.ensure()
        big.config_file.write_text(CONFIG)
        start = time.perf_counter()
        fill_studies(big, args.studies)
        print(f"synthetic index: {args.studies:,} studies in {time.perf_counter() - start:.1f} s")
        samples = resolve_paths(work / "samples")
        samples.ensure()
        samples.config_file.write_text(CONFIG)
        with Archive.open(samples) as archive:
            import_paths(archive, [ROOT / "sample_data" / "local"])
        bench_real_terminal(work / "big", args.repeat)
        asyncio.run(bench_in_process(big, args.repeat))
        asyncio.run(bench_preview(samples, args.repeat, (80, 24)))
        asyncio.run(bench_preview(samples, args.repeat, (160, 50)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
