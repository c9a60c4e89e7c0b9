"""Decode ahead through a series: the next slices are ready before the user asks for them.

A single background thread renders the slices around the current one
(``ahead`` after, ``behind`` before) with the same :func:`render` the
viewer uses, and keeps a small cache. Asking for a slice that is ready
returns at once; one that was never scheduled (a jump) is rendered in the
caller's thread rather than queued behind the neighbours. Changing the view state (window, size) drops the
cache, since every cached image depends on it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, Self, TypeVar, cast

from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState

log = logging.getLogger(__name__)

Product = TypeVar("Product")


class SeriesPrefetcher(Generic[Product]):
    """Rendered slices of one series, decoded ahead in a background thread.

    ``render_function`` defaults to :func:`render` (products are 8-bit
    images); a viewer can pass one that also encodes, so the terminal bytes
    of the next slices are ready too.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        view: ViewState,
        *,
        ahead: int = 3,
        behind: int = 1,
        cache_size: int = 12,
        render_function: Callable[[str | os.PathLike[str], int, ViewState], Product] | None = None,
    ) -> None:
        self._paths = list(paths)
        self._view = view
        self._ahead, self._behind = ahead, behind
        self._cache_size = max(cache_size, ahead + behind + 1)
        self._render = render_function or cast(Callable[[Any, int, ViewState], Product], render)
        self._futures: OrderedDict[int, Future[Product]] = OrderedDict()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tui-pacs-prefetch")

    def __len__(self) -> int:
        return len(self._paths)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def view(self) -> ViewState:
        return self._view

    def set_view(self, view: ViewState) -> None:
        """New window or size: everything cached is stale."""
        with self._lock:
            if view == self._view:
                return
            self._view = view
            for future in self._futures.values():
                future.cancel()
            self._futures.clear()

    def get(self, index: int) -> Product:
        """The rendered slice ``index``; schedules its neighbours. Raises what render raised."""
        if not 0 <= index < len(self._paths):
            raise IndexError(f"slice {index} is outside the series of {len(self._paths)}")
        with self._lock:
            future = self._futures.get(index)
        if future is None or future.cancelled():
            future = self._render_now(index)
        for offset in [*range(1, self._ahead + 1), *range(-1, -self._behind - 1, -1)]:
            if 0 <= index + offset < len(self._paths):
                self._schedule(index + offset)
        return future.result()

    def is_ready(self, index: int) -> bool:
        with self._lock:
            future = self._futures.get(index)
            return future is not None and future.done() and not future.cancelled()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _render_now(self, index: int) -> Future[Product]:
        future: Future[Product] = Future()
        try:
            future.set_result(self._render(self._paths[index], 0, self._view))
        except Exception as exc:  # noqa: BLE001 -- handed to the caller by future.result()
            future.set_exception(exc)
        with self._lock:
            self._futures[index] = future
        return future

    def _schedule(self, index: int) -> Future[Product]:
        with self._lock:
            future = self._futures.get(index)
            if future is None or future.cancelled():
                future = self._executor.submit(self._render, self._paths[index], 0, self._view)
                self._futures[index] = future
            self._futures.move_to_end(index)
            while len(self._futures) > self._cache_size:
                _, old = self._futures.popitem(last=False)
                old.cancel()
            return future
