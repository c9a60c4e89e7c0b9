"""tmux passthrough: graphics sequences wrapped so tmux hands them to the outer terminal.

tmux swallows escape sequences it does not understand (3.3 drops sixel and
kitty's APC). Wrapped as ``DCS tmux; <sequence with every ESC doubled> ST``
it forwards them, if the user allows it (``allow-passthrough``, an option
since tmux 3.3 and off by default). Where passthrough is off the caller
falls back to half-blocks, which tmux renders as ordinary text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

ST = b"\x1b\\"


def inside_tmux(environ: Mapping[str, str] | None = None) -> bool:
    return bool((environ if environ is not None else os.environ).get("TMUX"))


def wrap(payload: bytes) -> bytes:
    """Wrap every complete escape sequence of ``payload`` in its own passthrough.

    One passthrough per sequence (split after each ST) keeps each within
    tmux's input buffer, which a whole multi-megabyte image would not be.
    """
    if not payload:
        return payload
    pieces = payload.split(ST)
    wrapped = []
    for number, piece in enumerate(pieces):
        if number < len(pieces) - 1:
            piece += ST
        if piece:
            wrapped.append(b"\x1bPtmux;" + piece.replace(b"\x1b", b"\x1b\x1b") + ST)
    return b"".join(wrapped)


def passthrough_allowed(run: object = subprocess.run, tmux: str | None = None) -> bool:
    """Ask the running tmux whether ``allow-passthrough`` is on (or ``all``).

    tmux older than 3.3 has no such option and always passes through; an
    unknown option makes ``show-options`` fail, which is taken as allowed.
    Without a tmux binary to ask, passthrough is assumed off (blocks are safe).
    """
    binary = tmux or shutil.which("tmux")
    if binary is None:
        return False
    try:
        result = run(  # type: ignore[operator]
            [binary, "show-options", "-gqv", "allow-passthrough"], capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if result.returncode != 0:
        return "invalid option" in (result.stderr or "") or "unknown option" in (result.stderr or "")
    value = (result.stdout or "").strip().lower()
    return value in ("on", "all")
