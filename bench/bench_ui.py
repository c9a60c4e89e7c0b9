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
* first preview: ``p`` on a local CT series to the half-block image painted, after a
  person's pause on the series row (the pane prepares it then) and at once.

Times run from the action to the end of the first screen update that shows its result
(checked as each update begins, so a frame is never counted late).

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
from typing import Any

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

try:
    from tui_pacs.store.query import build_page
except ImportError:  # a checkout from before seek paging (to measure it the same way)
    build_page = build_select  # type: ignore[assignment]

CONFIG = '[local]\nae_title = "BENCH"\n'


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def report(name: str, samples: list[float], goal_ms: float, peer: list[float] | None = None,
           plain: list[float] | None = None) -> None:
    value = median_ms(samples)
    line = f"{name:<44} {value:8.1f} ms  (goal < {goal_ms:.0f} ms: {'ok' if value < goal_ms else 'MISSED'})"
    if peer:
        peer_ms = median_ms(peer)
        line += f"   raw SQL {peer_ms:6.1f} ms, ratio {value / peer_ms if peer_ms else float('inf'):5.1f}x"
    if plain:
        line += f"   (plain LIMIT/OFFSET SQL {median_ms(plain):6.1f} ms)"
    print(line, flush=True)


def raw_sql(paths: Paths, request: PageRequest, *, plain_offset: bool = False, with_count: bool = True,
            before: tuple[Any, ...] | None = None) -> float:
    """The peer: the page and count the pane asks for, straight through sqlite3, no UI.

    ``plain_offset`` runs the textbook ``ORDER BY ... LIMIT ? OFFSET ?`` instead of the
    pane's page SQL (which skips deep offsets over primary keys only), for comparison;
    ``with_count`` False when the pane keeps the total it has (paging, sorting); ``before``
    seeks back from a row's sort values, as the pane does for the window before the one shown.
    """
    query = request.query()
    order = list(request.order) or None
    if plain_offset:
        select = build_select(query, order=order, limit=request.limit, offset=request.offset)
    elif before is not None:
        select = build_page(query, order=order, limit=request.limit, before=before)
    else:
        select = build_page(query, order=order, limit=request.limit, offset=request.offset)
    count = build_count(query)
    conn = sqlite3.connect(paths.index_file)
    try:
        start = time.perf_counter()
        conn.execute(select.sql, select.params).fetchall()
        if with_count:
            conn.execute(count.sql, count.params).fetchone()
        return time.perf_counter() - start
    finally:
        conn.close()


PAINTS: list[float] = []
WATCH: dict[str, Any] = {"shown": None, "painted": None}
"""What the next screen update should show (a predicate on app state), and when it was painted."""


def record_paints() -> None:
    """Timestamp every screen update Textual makes (the headless driver still composes frames).

    The predicate in WATCH is checked as each update begins: the state it describes is then in
    that update, so the update's end is the moment it reached the screen. (Polling for the state
    from the benchmark's own task instead would notice it late and count a later frame.)
    """
    from textual.screen import Screen

    for name in ("_compositor_refresh", "_refresh_layout"):
        original = getattr(Screen, name)

        def wrapper(self, *args, __original=original, **kwargs):  # type: ignore[no-untyped-def]
            shown = WATCH["shown"]
            shows = shown is not None and WATCH["painted"] is None and shown()
            result = __original(self, *args, **kwargs)
            now = time.perf_counter()
            PAINTS.append(now)
            if shows:
                WATCH["painted"] = now
            return result

        setattr(Screen, name, wrapper)


async def painted_when(shown: Callable[[], bool], action: Callable[[], object], timeout: float = 10.0) -> float:
    """Run ``action``; seconds until the first screen update that shows ``shown()``."""
    WATCH["shown"], WATCH["painted"] = shown, None
    start = time.perf_counter()
    try:
        action()
        while WATCH["painted"] is None:
            if time.perf_counter() - start > timeout:
                raise RuntimeError("the screen never showed the change")
            await asyncio.sleep(0.0005)
        return float(WATCH["painted"]) - start
    finally:
        WATCH["shown"] = None


async def timed_key(app, pilot, key: str, ready: Callable[[], bool]) -> float:
    """Keystroke to screen: post the key event; time to the screen update that shows ``ready()``."""
    from textual import events

    took = await painted_when(ready, lambda: app.post_message(events.Key(key, key if len(key) == 1 else None)))
    await app.workers.wait_for_complete()
    await pilot.pause(0.05)  # settle before the next sample
    return took


def status(app) -> str:
    return str(app.query_one("#local-status").render())


async def bench_in_process(paths: Paths, repeat: int) -> None:
    from tui_pacs.ui.app import WorkstationApp
    from tui_pacs.ui.panes.local.filter_bar import FilterBar
    from tui_pacs.ui.panes.local.pane import LocalPane

    config = load_config(paths.config_file)
    firsts: list[float] = []
    for _ in range(repeat):
        made: list[WorkstationApp] = []

        def rows_shown(made: list[WorkstationApp] = made) -> bool:
            panes = made[0].query(LocalPane) if made else []
            return bool(panes) and panes.first().page is not None

        WATCH["shown"], WATCH["painted"] = rows_shown, None
        start = time.perf_counter()
        made.append(WorkstationApp(paths, config, run_scp=False))
        async with made[0].run_test(size=(160, 50)) as pilot:
            while WATCH["painted"] is None:
                await asyncio.sleep(0.0005)
            firsts.append(WATCH["painted"] - start)
            WATCH["shown"] = None
            await made[0].workers.wait_for_complete()
            await pilot.pause()
    report("first frame, in-process (rows painted)", firsts, 1000)

    app = WorkstationApp(paths, config, run_scp=False)
    async with app.run_test(size=(160, 50)) as pilot:
        pane = app.query_one(LocalPane)
        while pane.page is None:
            await asyncio.sleep(0.001)
        await pilot.pause()
        table = pane.table

        async def measure(name: str, action: Callable[[], Awaitable[float]], peer: Callable[[], float],
                          plain: Callable[[], float] | None = None) -> None:
            samples, peers, plains = [], [], []
            for _ in range(repeat):
                samples.append(await action())
                peers.append(peer())
                if plain is not None:
                    plains.append(plain())
            report(name, samples, 100, peers, plains or None)

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

        jumps = iter(range(1_000_000))

        async def deep_page(order: tuple[tuple[str, bool], ...] = ()) -> float:
            before = pane.request.offset
            target = 90_000 + (next(jumps) % 5) * 100
            if target == before:
                target += 1_000
            took = await painted_when(lambda: pane.request.offset == target and pane.request.order == order,
                                      lambda: pane.load_page(PageRequest(Level.STUDY, order=order, offset=target)))
            await pilot.pause(0.05)
            return took

        async def last_page() -> float:
            if pane.request.offset:
                await timed_key(app, pilot, "g", lambda: pane.request.offset == 0)  # back to the top, not timed
            return await timed_key(app, pilot, "G", lambda: pane.request.offset > 0)

        anchor: list[tuple[Any, ...]] = []

        async def page_back_from_the_end() -> float:
            if pane.request.offset < 90_000:
                await timed_key(app, pilot, "G", lambda: pane.request.offset > 90_000)  # not timed
            before = pane.request.offset
            anchor[:] = [pane.page.first_key if pane.page else ()]
            return await timed_key(app, pilot, "left_square_bracket", lambda: pane.request.offset != before)

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
        await measure("jump to offset ~90,000", deep_page, lambda: raw_sql(paths, PageRequest(offset=90_000)),
                      lambda: raw_sql(paths, PageRequest(offset=90_000), plain_offset=True))
        by_name = (("PatientName", False),)
        await measure("jump to offset ~90,000, sorted by name", lambda: deep_page(by_name),
                      lambda: raw_sql(paths, PageRequest(order=by_name, offset=90_000)),
                      lambda: raw_sql(paths, PageRequest(order=by_name, offset=90_000), plain_offset=True))
        await painted_when(lambda: pane.request.offset == 0 and not pane.request.order,
                           lambda: pane.load_page(PageRequest(Level.STUDY)))
        if hasattr(pane, "action_last_page"):
            end = PageRequest(offset=pane.page.total - 100 if pane.page else 0)
            await measure("last page (G)", last_page, lambda: raw_sql(paths, end, with_count=False),
                          lambda: raw_sql(paths, end, plain_offset=True, with_count=False))
            await measure("previous page from the end ([, seek)", page_back_from_the_end,
                          lambda: raw_sql(paths, PageRequest(offset=pane.request.offset), with_count=False,
                                          before=anchor[0]),
                          lambda: raw_sql(paths, PageRequest(offset=pane.request.offset), plain_offset=True,
                                          with_count=False))
            await timed_key(app, pilot, "g", lambda: pane.request.offset == 0)
        filters = {"name=SMITH*": {"PatientName": "SMITH*"}, "date=20240101-20240131": {"StudyDate": "20240101-20240131"},
                   "mod=CT": {"ModalitiesInStudy": "CT"}, "id=SYN001234": {"PatientID": "SYN001234"}}
        for text, keys in filters.items():
            await measure(f"filter {text}", lambda t=text: apply_filter(t),
                          lambda k=keys: raw_sql(paths, PageRequest(Level.STUDY, k)))
            table.focus()
        await apply_filter("")
        table.focus()
        # The peer sorts by the column the pane has just sorted by (the total stays: no count).
        await measure("sort (o, cycling columns)", sort_by_name,
                      lambda: raw_sql(paths, PageRequest(order=pane.request.order), with_count=False))


async def bench_preview(paths: Paths, repeat: int, size: tuple[int, int], pause: float) -> None:
    """``p`` on the CT series (cursor on it ``pause`` seconds after its row appeared) to the image painted."""
    from textual import events

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
            await app.workers.wait_for_complete()  # the node, the hidden panes and the decoders are up
            bar = app.query_one("#local-filter")
            bar.value = "acc=ACC1001"
            bar.apply()
            await app.workers.wait_for_complete()
            await pilot.press("enter")  # into the CT study's series
            while pane.request.level is not Level.SERIES or pane.page is None or not pane.page.rows:
                await asyncio.sleep(0.001)
            await pilot.pause(pause)
            image = app.query_one(HalfBlockImage)
            tabs = app.query_one("#panes")

            def shown(image: HalfBlockImage = image, tabs: Any = tabs) -> bool:
                return image.rgb is not None and tabs.active == "preview"

            samples.append(await painted_when(shown, lambda app=app: app.post_message(events.Key("p", "p"))))
            await app.workers.wait_for_complete()
    when = f"{pause:.1f} s after the series row" if pause else "at once"
    report(f"first preview, CT series, {size[0]}x{size[1]}, p {when}", samples, 200)


def bench_real_terminal(home: Path, repeat: int, work: Path) -> None:
    """Exec to rows on screen in tmux, as installed (bytecode compiled) and as this environment runs it.

    ``pip install`` compiles the package to bytecode; an editable checkout run with
    PYTHONDONTWRITEBYTECODE=1 compiles tui_pacs from source at every start. The first
    figure keeps the bytecode in a private PYTHONPYCACHEPREFIX (warmed by one untimed run),
    so the checkout itself is never written to.
    """
    tmux = shutil.which("tmux")
    if tmux is None:
        print("first frame, real terminal: tmux not installed, not measured")
        return
    script = Path(sys.executable).with_name("tui-pacs")
    command = f"{script}" if script.exists() else f"{sys.executable} -m tui_pacs"
    cached = f"-u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={work / 'pycache'}"
    as_is = "PYTHONDONTWRITEBYTECODE=1" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    variants = [("first frame, real terminal (exec to rows)", cached, True)]
    if as_is:
        variants.append(("  same, no bytecode cache (PYTHONDONTWRITEBYTECODE)", as_is, False))
    socket = f"tuibench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        for name, env, warm_up in variants:
            samples: list[float] = []
            for run in range(repeat + (1 if warm_up else 0)):
                took = _first_rows_in_tmux(tmux, socket, f"env -u COLUMNS -u LINES {env} TUI_PACS_HOME={home} "
                                                         f"TUI_PACS_GRAPHICS=blocks {command}")
                if run or not warm_up:
                    samples.append(took)
            report(name, samples, 1000)
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, check=False)
        (Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)


def _first_rows_in_tmux(tmux: str, socket: str, command: str) -> float:
    start = time.perf_counter()
    subprocess.run([tmux, "-L", socket, "new-session", "-d", "-s", "b", "-x", "160", "-y", "50", command],
                   check=True)
    while True:
        screen = subprocess.run([tmux, "-L", socket, "capture-pane", "-p", "-t", "b"],
                                capture_output=True, text=True, check=False).stdout
        if "Studies 1-" in screen:
            break
        if time.perf_counter() - start > 30:
            raise RuntimeError("the workstation did not show its study list within 30 s")
        time.sleep(0.01)
    took = time.perf_counter() - start
    subprocess.run([tmux, "-L", socket, "send-keys", "-t", "b", "C-q"], check=True)
    while subprocess.run([tmux, "-L", socket, "has-session", "-t", "b"], capture_output=True,
                         check=False).returncode == 0:
        time.sleep(0.05)
    return took


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
        bench_real_terminal(work / "big", args.repeat, work)
        asyncio.run(bench_in_process(big, args.repeat))
        for size in ((80, 24), (160, 50)):
            asyncio.run(bench_preview(samples, args.repeat, size, pause=0.3))  # a person's pause between keys
            asyncio.run(bench_preview(samples, args.repeat, size, pause=0.0))  # nothing prepared ahead
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
