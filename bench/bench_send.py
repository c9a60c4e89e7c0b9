"""C-STORE send rate: tui-pacs ``send_c_store`` against dcmtk ``storescu``, both into ``storescp``.

Cases: 2,000 small instances (64x64 16-bit, about 9 KB) and 500 larger ones
(256x256 16-bit, about 130 KB), one association per run. Both senders go to
the same storescp (TCP_NODELAY=1, as peers.md requires) in the same run, and
the runs alternate (dcmtk, ours, dcmtk, ours...) so that load from other
processes on the machine falls on both; figures are medians.

    python bench/bench_send.py [--small 2000] [--large 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synth import write_set  # noqa: E402
from tests.support.peers import run_storescp  # noqa: E402
from tests.support.tools import dcmtk_env  # noqa: E402
from tui_pacs.config.model import RemoteNode, Timeouts  # noqa: E402
from tui_pacs.net.scu.store import StoreItem, send_c_store  # noqa: E402

AET = "TUIPACS"


def items_of(paths: list[Path]) -> list[StoreItem]:
    return [StoreItem.from_file(p) for p in paths]


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def run_case(base: Path, label: str, count: int, size: int, repeat: int) -> None:
    files = write_set(base / label, count=count, size=size, per_study=count, tag=size)
    items = items_of(files)
    kb = sum(p.stat().st_size for p in files) / count / 1e3
    # storescu takes the files on its command line; a list file keeps argv short.
    with run_storescp(base / f"scp_{label}") as scp:
        node = RemoteNode("scp", scp.aet, "127.0.0.1", scp.port, timeouts=Timeouts(dimse=30))
        argv = ["storescu", "-aec", scp.aet, "-nh", "127.0.0.1", str(scp.port), *map(str, files)]
        send_c_store(AET, node, items[:20])  # warm up imports and the page cache
        dcmtk, ours = [], []
        for _ in range(repeat):
            dcmtk.append(timed(lambda: subprocess.run(argv, env=dcmtk_env(), check=True, capture_output=True)))
            ours.append(timed(lambda: send_c_store(AET, node, items)))
    d, o = statistics.median(dcmtk), statistics.median(ours)
    print(f"{count} x {size}x{size} ({kb:.0f} KB each), median of {repeat}")
    print(f"  dcmtk storescu          {d:7.2f} s  {count / d:7.0f} inst/s")
    print(f"  tui-pacs send_c_store   {o:7.2f} s  {count / o:7.0f} inst/s  "
          f"ratio {o / d:.2f}x dcmtk's time (min {min(ours):.2f} s vs {min(dcmtk):.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if args.small:
            run_case(base, "small", args.small, 64, args.repeat)
        if args.large:
            run_case(base, "large", args.large, 256, args.repeat)


if __name__ == "__main__":
    main()
