"""Import rate (files/s) of ``tui-pacs import`` against dcmtk's ``dcmqridx`` on the same files, same run.

    python bench/bench_import.py [--small 5000] [--large 1000] [--repeat 3]

dcmqridx only adds references to its index; tui-pacs copies every file into
its store, fsyncs it and commits the index, so the comparison is a ceiling.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import write_set


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def bench_case(label: str, files: list[Path], work: Path, repeat: int) -> None:
    ours, theirs = [], []
    for attempt in range(repeat):
        home = work / f"home-{label}-{attempt}"
        env = {**os.environ, "TUI_PACS_HOME": str(home)}
        ours.append(timed([sys.executable, "-m", "tui_pacs", "import", str(files[0].parent)], env))
        shutil.rmtree(home)
        area = work / f"area-{label}-{attempt}"
        area.mkdir()
        theirs.append(timed(["dcmqridx", str(area), *map(str, files)]))
        shutil.rmtree(area)
    n = len(files)
    our_rate, their_rate = n / statistics.median(ours), n / statistics.median(theirs)
    print(f"{label:<28} tui-pacs import {our_rate:8.1f} files/s   dcmqridx {their_rate:8.1f} files/s   "
          f"ratio {our_rate / their_rate:5.2f}   (median of {repeat}, {n} files)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("dcmqridx") is None:
        sys.exit("dcmqridx not found: apt-get install dcmtk")
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=os.environ.get("BENCH_TMP")) as tmp:
        work = Path(tmp)
        small = write_set(work / "small", count=args.small, size=64, per_study=50, tag=1)
        bench_case(f"{args.small} x 64x64 (10 KB)", small, work, args.repeat)
        shutil.rmtree(work / "small")
        large = write_set(work / "large", count=args.large, size=512, per_study=100, tag=2)
        bench_case(f"{args.large} x 512x512 CT (0.5 MB)", large, work, args.repeat)


if __name__ == "__main__":
    main()
