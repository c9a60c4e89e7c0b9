"""Imaging benchmarks: file to terminal bytes per protocol, and stepping through a CT series.

Run: ``python bench/bench_imaging.py [--repeat N] [--series N]``. Prints
median milliseconds and bytes written, with peers measured in the same
run on the same machine (dcmtk's ``dcm2pnm`` for decode+window to PNG,
libsixel's ``img2sixel`` for sixel), as ratios. Nothing here is asserted.

Images: a 512x512 16-bit CT (pydicom's 693_J2KI.dcm, decompressed and
written uncompressed) and the same image in JPEG 2000. Pixel protocols
draw it at its own 512x512 size; half-blocks into a 160x50-cell pane;
``sixel64`` is sixel with 64 grey levels instead of 101.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tui_pacs.imaging.encoders import Placement, encoder_for
from tui_pacs.imaging.encoders.sixel import SixelEncoder
from tui_pacs.imaging.prefetch import SeriesPrefetcher
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState

PROTOCOLS = ("kitty", "sixel", "sixel64", "iterm", "blocks", "blocks256")
PANE = (160, 50)


def median_ms(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    action()  # warm caches and imports
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def make_images(workdir: Path) -> dict[str, Path]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j2k = Path(get_testdata_file("693_J2KI.dcm"))
    ds = pydicom.dcmread(j2k)
    ds.decompress()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ct = workdir / "ct512.dcm"
    ds.save_as(ct)
    return {"CT 512x512 16-bit uncompressed": ct, "CT 512x512 JPEG 2000": j2k}


def file_to_bytes(path: Path, protocol: str) -> bytes:
    fit = (PANE[0], 2 * PANE[1]) if protocol.startswith("blocks") else (512, 512)
    image = render(path, 0, ViewState(fit=fit))
    encoder = SixelEncoder(grey_levels=64) if protocol == "sixel64" else encoder_for(protocol)
    return encoder.encode(image, Placement(columns=PANE[0], rows=PANE[1]))


def bench_protocols(images: dict[str, Path], repeat: int, workdir: Path) -> None:
    print(f"\nfile -> terminal bytes (median of {repeat}; goal < 30 ms and < 100 KB per 512x512 image)")
    print(f"{'image':34} {'protocol':10} {'ms':>8} {'bytes':>10}")
    for label, path in images.items():
        for protocol in PROTOCOLS:
            ms, data = median_ms(lambda path=path, protocol=protocol: file_to_bytes(path, protocol), repeat)
            print(f"{label:34} {protocol:10} {ms:8.1f} {len(data):10,}")  # type: ignore[arg-type]
        ms_render, _ = median_ms(lambda path=path: render(path, 0, ViewState()), repeat)
        print(f"{label:34} {'(render)':10} {ms_render:8.1f}")
        dcm2pnm = shutil.which("dcm2pnm")
        if dcm2pnm:
            out = workdir / "peer.png"
            ms_peer, result = median_ms(
                lambda dcm2pnm=dcm2pnm, path=path, out=out: subprocess.run(
                    [dcm2pnm, "+on", "+Wm", str(path), str(out)], capture_output=True, check=False), max(3, repeat // 3))
            if result.returncode == 0:  # type: ignore[attr-defined]
                ms_ours, _ = median_ms(lambda path=path: file_to_bytes(path, "kitty"), repeat)
                print(f"{label:34} {'dcm2pnm':10} {ms_peer:8.1f} {out.stat().st_size:10,}  "
                      f"(process incl. start-up; tui-pacs kitty is {ms_peer / ms_ours:.1f}x faster)")
            else:
                print(f"{label:34} {'dcm2pnm':10} {'cannot decode this syntax':>19}")
    img2sixel = shutil.which("img2sixel")
    if img2sixel:
        from PIL import Image

        image = render(next(iter(images.values())), 0, ViewState())
        png = workdir / "ct.png"
        Image.fromarray(image).save(png)
        ms_peer, result = median_ms(lambda: subprocess.run([img2sixel, str(png)], capture_output=True, check=False), max(3, repeat // 3))
        ms_ours, ours = median_ms(lambda: encoder_for("sixel").encode(image, Placement()), repeat)
        print(f"\nsixel encode only, 512x512 CT: tui-pacs {ms_ours:.1f} ms, {len(ours):,} bytes; "  # type: ignore[arg-type]
              f"img2sixel {ms_peer:.1f} ms (process), {len(result.stdout):,} bytes")  # type: ignore[attr-defined]


def make_series(source: Path, directory: Path, count: int) -> list[Path]:
    """``count`` slices: the CT with a different noise per slice, so no two files are equal."""
    ds = pydicom.dcmread(source)
    base = ds.pixel_array.astype(np.int32)
    rng = np.random.default_rng(0)
    series_uid = generate_uid()
    paths = []
    for number in range(1, count + 1):
        ds.InstanceNumber = number
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        slice_pixels = np.clip(base + rng.integers(-20, 20, base.shape), -32768, 32767).astype(np.int16)
        ds.PixelData = slice_pixels.tobytes()
        path = directory / f"slice{number:04d}.dcm"
        ds.save_as(path)
        paths.append(path)
    return paths


def bench_series(source: Path, count: int, workdir: Path) -> None:
    directory = workdir / "series"
    directory.mkdir()
    paths = make_series(source, directory, count)
    encoder = encoder_for("kitty")
    view = ViewState(fit=(512, 512))
    start = time.perf_counter()
    with SeriesPrefetcher(paths, view, ahead=3, behind=1) as series:
        encoder.encode(series.get(0), Placement())
        first = (time.perf_counter() - start) * 1000
        steps = []
        for index in range(1, min(count, 60)):
            time.sleep(0.05)  # a person stepping with a held key: about 20 slices a second
            start = time.perf_counter()
            encoder.encode(series.get(index), Placement())
            steps.append((time.perf_counter() - start) * 1000)
    def render_and_encode(path: object, frame: int, view: ViewState) -> bytes:
        return encoder.encode(render(path, frame, view), Placement())  # type: ignore[arg-type]

    encoded_steps = []
    with SeriesPrefetcher(paths, view, ahead=3, behind=1, render_function=render_and_encode) as series_bytes:
        series_bytes.get(0)
        for index in range(1, min(count, 60)):
            time.sleep(0.05)
            start = time.perf_counter()
            series_bytes.get(index)
            encoded_steps.append((time.perf_counter() - start) * 1000)
    cold = []
    for index in range(min(count, 30)):
        start = time.perf_counter()
        encoder.encode(render(paths[index], 0, view), Placement())
        cold.append((time.perf_counter() - start) * 1000)
    print(f"\nseries of {count} CT slices (512x512, kitty):")
    print(f"  first preview (prefetcher start, decode, window, encode): {first:.1f} ms")
    print(f"  next slice with decode-ahead: median {statistics.median(steps):.1f} ms "
          f"(max {max(steps):.1f}) over {len(steps)} steps at 20 slices/s")
    print(f"  next slice with decode+encode-ahead: median {statistics.median(encoded_steps):.2f} ms "
          f"(max {max(encoded_steps):.1f})")
    print(f"  next slice without decode-ahead: median {statistics.median(cold):.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--series", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-imaging-") as temporary:
        workdir = Path(temporary)
        images = make_images(workdir)
        bench_protocols(images, args.repeat, workdir)
        bench_series(images["CT 512x512 16-bit uncompressed"], args.series, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
