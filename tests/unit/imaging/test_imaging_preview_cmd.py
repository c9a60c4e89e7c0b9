"""``tui-pacs preview`` end to end (without a real terminal): the bytes it prints decode to the rendered image."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from conftest import bundled, mono_dataset
from graphics_readers import png_pixels, read_halfblocks, read_kitty, read_sixel

from tui_pacs.cli import cli
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState, Window


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TUI_PACS_GRAPHICS", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    home = tmp_path / "home"

    def invoke(*args: str, env: dict[str, str] | None = None) -> bytes:
        result = CliRunner().invoke(cli, ["--home", str(home), "preview", *args], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout_bytes

    invoke.home = home  # type: ignore[attr-defined]
    return invoke


def test_blocks(run) -> None:  # type: ignore[no-untyped-def]
    path = bundled("CT_small.dcm")
    pixels = read_halfblocks(run(str(path), "--protocol", "blocks", "--size", "20x10"))
    expected = render(path, 0, ViewState(fit=(20, 20)))
    assert pixels.shape == (20, 20, 3)
    assert np.array_equal(pixels[..., 1], expected.astype(np.int64))


def test_kitty_with_window(run) -> None:  # type: ignore[no-untyped-def]
    path = bundled("CT_small.dcm")
    _, images = read_kitty(run(str(path), "--protocol", "kitty", "--size", "20x10", "--window", "40/400").rstrip(b"\r\n"))
    png, mode = png_pixels(images[1])
    assert mode == "L"
    expected = render(path, 0, ViewState(window=Window(40, 400), fit=(png.shape[1], png.shape[0])))
    assert np.array_equal(png, expected)
    assert not np.array_equal(png, render(path, 0, ViewState(fit=(png.shape[1], png.shape[0]))))


def test_sixel_frame_choice(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frames = np.stack([np.full((12, 12), value, dtype=np.uint8) for value in (0, 128, 255)])
    path = tmp_path / "frames.dcm"
    mono_dataset(frames, WindowCenter="127.5", WindowWidth="256").save_as(path, enforce_file_format=True)
    pixels, _ = read_sixel(run(str(path), "--protocol", "sixel", "--frame", "2", "--size", "2x1"))
    assert np.abs(pixels.astype(int) - 128).max() <= 2


def test_environment_and_config_choose_the_protocol(run) -> None:  # type: ignore[no-untyped-def]
    path = str(bundled("MR_small.dcm"))
    assert "\u2580" in run(path, "--size", "10x5", env={"TUI_PACS_GRAPHICS": "blocks"}).decode()
    home: Path = run.home
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[ui]\ngraphics = "iterm"\n')
    assert run(path, "--size", "10x5").startswith(b"\x1b]1337;File=")


def test_inside_tmux_graphics_are_wrapped(run) -> None:  # type: ignore[no-untyped-def]
    out = run(str(bundled("MR_small.dcm")), "--protocol", "kitty", "--size", "10x5", env={"TMUX": "/tmp/x,1,0"})
    assert out.startswith(b"\x1bPtmux;\x1b\x1b_G")


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(bundled("MR_small.dcm"))
    for args in ([path, "--window", "40"], [path, "--size", "0x3"], [], [path, "--series", "1.2.3"]):
        result = runner.invoke(cli, ["--home", str(tmp_path), "preview", *args])
        assert result.exit_code == 2, result.output


def test_a_file_without_pixels_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = dict(os.environ, TUI_PACS_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "tui_pacs", "preview", "--protocol", "blocks",
                             str(bundled("rtplan.dcm"))], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: Cannot show image: no pixel data: it is a RT Plan Storage object"]


def _ingest(home: Path, files: list[Path]) -> None:
    from tui_pacs.config.loader import load_config
    from tui_pacs.config.paths import resolve_paths
    from tui_pacs.store.archive import Archive

    paths = resolve_paths(home)
    paths.ensure()
    with Archive.open(paths, load_config(paths.config_file)) as archive:
        for number, file in enumerate(files):
            temporary = archive.incoming_dir / f"in-{number}.dcm"
            shutil.copyfile(file, temporary)
            archive.ingest_file(temporary)


def test_instance_and_series_from_the_archive(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tui_pacs.store.archive")
    source = pydicom.dcmread(bundled("CT_small.dcm"))
    files = []
    for number in (2, 1):  # written out of order: the series is shown in Instance Number order
        ds = copy.deepcopy(source)
        ds.InstanceNumber = number
        ds.SOPInstanceUID = f"{source.SOPInstanceUID}.{number}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.WindowCenter, ds.WindowWidth = (str(100 * number), "300")
        files.append(tmp_path / f"ct{number}.dcm")
        ds.save_as(files[-1])
    _ingest(run.home, files)
    by_instance = read_halfblocks(run("--instance", f"{source.SOPInstanceUID}.1", "--protocol", "blocks", "--size", "16x8"))
    first = read_halfblocks(run("--series", source.SeriesInstanceUID, "--protocol", "blocks", "--size", "16x8"))
    second = read_halfblocks(run("--series", source.SeriesInstanceUID, "--frame", "2", "--protocol", "blocks", "--size", "16x8"))
    assert np.array_equal(by_instance, first)
    assert np.array_equal(first[..., 0], render(files[1], 0, ViewState(fit=(16, 16))).astype(np.int64))
    assert np.array_equal(second[..., 0], render(files[0], 0, ViewState(fit=(16, 16))).astype(np.int64))
