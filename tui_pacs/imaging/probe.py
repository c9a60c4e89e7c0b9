"""Which graphics the terminal speaks: one batched probe when the app starts, never at import.

The probe writes four queries at once and reads the replies until the
last one's answer arrives:

* XTVERSION (``CSI > 0 q``): the terminal's name and version (``DCS > | name ST``);
* the kitty graphics query (``APC G a=q ... ST``): kitty-protocol terminals answer ``OK``;
* ``CSI 16 t``: the cell size in pixels (``CSI 6 ; height ; width t``);
* DA1 (``CSI c``): every VT100-descendant answers it, so it marks the end;
  attribute 4 in the reply means sixel (VT340 and friends).

Replies over SSH can take hundreds of milliseconds, so the timeout is at
least a second; a terminal that answers nothing gets half-blocks.
"""

from __future__ import annotations

import logging
import os
import re
import select
import termios
import time
import tty
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

KITTY_QUERY_ID = 31
PROBE = (
    b"\x1b[>0q"
    + b"\x1b_Gi=%d,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\" % KITTY_QUERY_ID
    + b"\x1b[16t"
    + b"\x1b[c"
)
MIN_TIMEOUT = 1.0
CHOICES = ("auto", "kitty", "sixel", "iterm", "blocks", "blocks256")

_DA1 = re.compile(rb"\x1b\[\?([\d;]*)c")
_XTVERSION = re.compile(rb"\x1bP>\|(.*?)\x1b\\", re.DOTALL)
_KITTY = re.compile(rb"\x1b_Gi=%d;(.*?)\x1b\\" % KITTY_QUERY_ID, re.DOTALL)
_CELL = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_ITERM_NAMES = ("iterm2", "wezterm", "mlterm")


@dataclass(frozen=True)
class TerminalCapabilities:
    """What the replies (and the environment) say the terminal can do."""

    answered: bool = False
    """True when the DA1 reply arrived in time."""
    name: str = ""
    kitty: bool = False
    sixel: bool = False
    iterm: bool = False
    truecolour: bool = False
    cell_size: tuple[int, int] | None = None
    """(width, height) in pixels from ``CSI 16 t``."""


def parse_replies(data: bytes, environ: Mapping[str, str] | None = None) -> TerminalCapabilities:
    """Turn the raw reply bytes into capabilities (pure; the tests feed it directly)."""
    env = os.environ if environ is None else environ
    da1 = _DA1.search(data)
    attributes = da1.group(1).split(b";") if da1 else []
    version = _XTVERSION.search(data)
    name = version.group(1).decode("utf-8", "replace") if version else ""
    kitty_reply = _KITTY.search(data)
    cell_match = _CELL.search(data)
    cell = (int(cell_match.group(2)), int(cell_match.group(1))) if cell_match else None
    program = env.get("TERM_PROGRAM", "")
    lowered = f"{name} {program}".lower()
    iterm = any(known in lowered for known in _ITERM_NAMES) or program == "iTerm.app"
    kitty = bool(kitty_reply and kitty_reply.group(1).startswith(b"OK"))
    truecolour = env.get("COLORTERM", "").lower() in ("truecolor", "24bit") or kitty or iterm
    return TerminalCapabilities(
        answered=da1 is not None,
        name=name,
        kitty=kitty,
        sixel=b"4" in attributes,
        iterm=iterm,
        truecolour=truecolour,
        cell_size=cell,
    )


def read_replies(fd: int, timeout: float = MIN_TIMEOUT, query: bytes = PROBE) -> bytes:
    """Write the probe to a terminal and collect replies until DA1's answer or the timeout.

    The terminal is put in raw mode for the duration (so the replies are not
    echoed or line-buffered) and restored afterwards.
    """
    timeout = max(MIN_TIMEOUT, timeout)
    saved = None
    try:
        saved = termios.tcgetattr(fd)
        tty.setraw(fd, termios.TCSANOW)
    except termios.error:
        saved = None
    received = b""
    try:
        os.write(fd, query)
        deadline = time.monotonic() + timeout
        while not _DA1.search(received):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            received += chunk
    except OSError as exc:
        log.debug("terminal probe failed: %s", exc)
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return received


def probe_terminal(fd: int | None = None, timeout: float = MIN_TIMEOUT, environ: Mapping[str, str] | None = None) -> TerminalCapabilities:
    """Probe the controlling terminal (``/dev/tty``) or ``fd``; no terminal means no capabilities."""
    env = os.environ if environ is None else environ
    if fd is not None:
        return parse_replies(read_replies(fd, timeout), env)
    try:
        tty_fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return parse_replies(b"", env)
    try:
        return parse_replies(read_replies(tty_fd, timeout), env)
    finally:
        os.close(tty_fd)


def choose_protocol(
    capabilities: TerminalCapabilities,
    configured: str = "auto",
    environ: Mapping[str, str] | None = None,
    tmux_passthrough: bool | None = None,
) -> str:
    """The protocol to use: ``TUI_PACS_GRAPHICS``, then ``[ui] graphics``, then what was detected.

    Inside tmux, pixel protocols need passthrough; without it, half-blocks.
    """
    env = os.environ if environ is None else environ
    override = env.get("TUI_PACS_GRAPHICS", "").strip().lower()
    for choice in (override, (configured or "auto").strip().lower()):
        if choice and choice != "auto":
            if choice not in CHOICES:
                log.warning("unknown graphics protocol %r; detecting instead", choice)
                continue
            return choice
    blocks = "blocks" if capabilities.truecolour else "blocks256"
    if env.get("TMUX") and not tmux_passthrough:
        return blocks
    if capabilities.kitty:
        return "kitty"
    if capabilities.iterm:
        return "iterm"
    if capabilities.sixel:
        return "sixel"
    return blocks
