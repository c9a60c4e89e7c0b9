"""Terminal detection against a fake terminal on a pty that answers, answers late, or stays silent."""

from __future__ import annotations

import os
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from tui_pacs.imaging.probe import (
    PROBE,
    TerminalCapabilities,
    choose_protocol,
    parse_replies,
    probe_terminal,
)

KITTY_REPLIES = b"\x1bP>|kitty(0.26.5)\x1b\\" + b"\x1b_Gi=31;OK\x1b\\" + b"\x1b[6;20;10t" + b"\x1b[?62;c"
XTERM_VT340_REPLIES = b"\x1bP>|XTerm(379)\x1b\\" + b"\x1b[6;17;9t" + b"\x1b[?63;1;2;4;6;9;15;16;22;28c"


class FakeTerminal:
    """The far end of a pty: waits for the whole probe, then writes canned replies."""

    def __init__(self, replies: bytes, delay: float = 0.0, byte_by_byte: bool = False) -> None:
        self.master, self.slave = os.openpty()
        self.replies, self.delay, self.byte_by_byte = replies, delay, byte_by_byte
        self.received = b""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self.received.endswith(b"\x1b[c"):
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk
        time.sleep(self.delay)
        chunks = [bytes([b]) for b in self.replies] if self.byte_by_byte else [self.replies]
        try:
            for chunk in chunks:
                if chunk:
                    os.write(self.master, chunk)
        except OSError:  # the test already closed the pty
            return

    def close(self) -> None:
        self._thread.join(timeout=5)  # a late answer is written before the pty goes away
        os.close(self.slave)
        os.close(self.master)


@pytest.fixture
def terminal_factory() -> Iterator[list[FakeTerminal]]:
    made: list[FakeTerminal] = []
    yield made
    for terminal in made:
        terminal.close()


def _fake(made: list[FakeTerminal], replies: bytes, **options: object) -> FakeTerminal:
    terminal = FakeTerminal(replies, **options)  # type: ignore[arg-type]
    made.append(terminal)
    return terminal


def test_kitty_answers(terminal_factory: list[FakeTerminal]) -> None:
    terminal = _fake(terminal_factory, KITTY_REPLIES)
    before = termios.tcgetattr(terminal.slave)
    caps = probe_terminal(terminal.slave, environ={})
    assert terminal.received == PROBE  # one batched write: XTVERSION, kitty query, CSI 16 t, DA1
    assert caps.answered and caps.kitty and caps.name == "kitty(0.26.5)"
    assert caps.cell_size == (10, 20)
    assert choose_protocol(caps, environ={}) == "kitty"
    assert termios.tcgetattr(terminal.slave) == before  # raw mode was undone


def test_xterm_vt340_answers_sixel_byte_by_byte(terminal_factory: list[FakeTerminal]) -> None:
    terminal = _fake(terminal_factory, XTERM_VT340_REPLIES, byte_by_byte=True)
    caps = probe_terminal(terminal.slave, environ={})
    assert caps.answered and caps.sixel and not caps.kitty
    assert caps.cell_size == (9, 17)
    assert choose_protocol(caps, environ={}) == "sixel"


def test_late_answer_within_the_timeout_counts(terminal_factory: list[FakeTerminal]) -> None:
    terminal = _fake(terminal_factory, KITTY_REPLIES, delay=0.5)
    assert probe_terminal(terminal.slave, timeout=1.5, environ={}).kitty


def test_answer_after_the_timeout_means_nothing_detected(terminal_factory: list[FakeTerminal]) -> None:
    terminal = _fake(terminal_factory, KITTY_REPLIES, delay=1.6)
    caps = probe_terminal(terminal.slave, timeout=0.1, environ={})  # raised to the 1 s minimum
    assert not caps.answered and not caps.kitty
    assert choose_protocol(caps, environ={}) == "blocks256"


def test_silent_terminal_gets_half_blocks(terminal_factory: list[FakeTerminal]) -> None:
    terminal = _fake(terminal_factory, b"")
    caps = probe_terminal(terminal.slave, environ={"COLORTERM": "truecolor"})
    assert not caps.answered and caps.truecolour
    assert choose_protocol(caps, environ={}) == "blocks"


def test_overrides_environment_then_config() -> None:
    kitty = parse_replies(KITTY_REPLIES, {})
    assert choose_protocol(kitty, "sixel", environ={}) == "sixel"
    assert choose_protocol(kitty, "sixel", environ={"TUI_PACS_GRAPHICS": "iterm"}) == "iterm"
    assert choose_protocol(kitty, "auto", environ={"TUI_PACS_GRAPHICS": "bogus"}) == "kitty"


def test_inside_tmux_pixels_need_passthrough() -> None:
    kitty = parse_replies(KITTY_REPLIES, {})
    env = {"TMUX": "/tmp/tmux-0/default,1,0"}
    assert choose_protocol(kitty, environ=env, tmux_passthrough=False) == "blocks"
    assert choose_protocol(kitty, environ=env, tmux_passthrough=True) == "kitty"


def test_iterm_is_recognised_by_name_or_environment() -> None:
    assert parse_replies(b"\x1bP>|iTerm2 3.5.0\x1b\\\x1b[?62;4c", {}).iterm
    caps = parse_replies(b"\x1b[?62c", {"TERM_PROGRAM": "iTerm.app"})
    assert choose_protocol(caps, environ={}) == "iterm"
    assert choose_protocol(TerminalCapabilities(), environ={}) == "blocks256"


def test_importing_imaging_touches_no_terminal_and_no_textual() -> None:
    """No side effects at import: nothing is written to the terminal, Textual stays out."""
    master, slave = os.openpty()
    try:
        modules = ["tui_pacs.imaging." + name for name in (
            "probe", "render", "sizing", "tmux", "prefetch", "decode", "lut", "colour",
            "encoders.kitty", "encoders.sixel", "encoders.iterm", "encoders.halfblock")]
        code = f"import sys; [__import__(m) for m in {modules!r}]; assert 'textual' not in sys.modules"
        result = subprocess.run([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                timeout=60, start_new_session=True, check=False)
        assert result.returncode == 0, result.stderr.decode()
        os.set_blocking(master, False)
        try:
            written = os.read(master, 4096)
        except BlockingIOError:
            written = b""
        assert written == b""
    finally:
        os.close(master)
        os.close(slave)


def _preview_on_pty(replies: bytes, rows: int, cols: int, tmp_path: object, env_extra: dict[str, str]) -> bytes:
    """Run ``tui-pacs preview`` (protocol auto) with a pty as its controlling terminal; return what it wrote."""
    import fcntl
    import struct

    from conftest import bundled

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def become_controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {k: v for k, v in os.environ.items() if k not in ("TUI_PACS_GRAPHICS", "TMUX", "COLORTERM", "TERM_PROGRAM")}
    env.update(TUI_PACS_HOME=str(tmp_path), **env_extra)
    process = subprocess.Popen([sys.executable, "-m", "tui_pacs", "preview", str(bundled("MR_small.dcm"))],
                               stdin=slave, stdout=slave, stderr=slave, env=env,
                               preexec_fn=become_controlling_terminal)  # noqa: PLW1509 -- needs a controlling tty
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"\x1b[c" in output:
            if replies:
                os.write(master, replies)
            answered = True
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 0, output[-500:]
    return output


def test_preview_probes_once_at_start_and_uses_the_answer(tmp_path: object) -> None:
    output = _preview_on_pty(KITTY_REPLIES, 24, 80, tmp_path, {})
    assert output.count(PROBE) == 1
    assert b"\x1b_Ga=T,f=100" in output.split(PROBE, 1)[1]


def test_preview_on_a_silent_0x0_terminal_falls_back_to_blocks(tmp_path: object) -> None:
    output = _preview_on_pty(b"", 0, 0, tmp_path, {"COLORTERM": "truecolor"})
    assert output.count(PROBE) == 1
    after = output.split(PROBE, 1)[1]
    assert "\u2580".encode() in after and b"\x1b[38;2;" in after and b"\x1b_G" not in after
