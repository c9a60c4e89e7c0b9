"""Association benchmark: many short associations into ``tui-pacs serve``, Orthanc and dcmtk storescp.

Many modalities open an association per instance (or per series), and
monitoring scripts run echoscu every few seconds: for them the cost of
setting up an association counts more than the rate within one. Each run
here is one dcmtk process, one association, and one C-STORE of a small
image (storescu proposes its full list of storage contexts, as modalities
often do) or one C-ECHO, so the figures include the sender's process
start, the same for every receiver. Same files, same run, same machine;
every receiver starts empty.

Cases: storescu one instance per association, one after the other;
echoscu likewise; and four loops of storescu in parallel (associations
per second). For tui-pacs it also prints its CPU time per association.

    python bench/bench_associations.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import ENV, HOST, Orthanc, Receiver, StoreScp, TuiPacs
from bench.synth import write_set

PARALLEL = 4


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(argv: list[str]) -> float:
    """Seconds one dcmtk process took; raises if it failed."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def store_one(receiver: Receiver, path: Path) -> list[str]:
    return ["storescu", "-aec", receiver.aet, HOST, str(receiver.port), str(path)]


def echo(receiver: Receiver) -> list[str]:
    return ["echoscu", "-aec", receiver.aet, HOST, str(receiver.port)]


def in_parallel(receiver: Receiver, files: list[Path]) -> float:
    """Associations per second from :data:`PARALLEL` loops of one-instance storescu runs."""
    shares = [files[n::PARALLEL] for n in range(PARALLEL)]
    errors: list[BaseException] = []

    def loop(share: list[Path]) -> None:
        try:
            for path in share:
                run(store_one(receiver, path))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(share,)) for share in shares]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return len(files) / (time.perf_counter() - start)


def measure(kind: type[Receiver], workdir: Path, serial: list[Path], parallel: list[Path],
            runs: int) -> dict[str, float]:
    """The three cases against one receiver (started empty, stopped afterwards)."""
    os.sync()
    receiver = kind(workdir, PARALLEL)
    receiver.start()
    try:
        assert receiver.process is not None
        pid = receiver.process.pid
        cpu = process_cpu_seconds(pid)
        store_ms = statistics.median(run(store_one(receiver, path)) for path in serial) * 1000
        per_association = (process_cpu_seconds(pid) - cpu) / len(serial) * 1000
        echo_ms = statistics.median(run(echo(receiver)) for _ in range(runs)) * 1000
        rate = in_parallel(receiver, parallel)
        stored = receiver.count()
        if stored not in (-1, len(serial) + len(parallel)):
            raise RuntimeError(f"{receiver.name} holds {stored} of {len(serial) + len(parallel)} instances")
    finally:
        receiver.stop()
    return {"store": store_ms, "echo": echo_ms, "parallel": rate, "cpu": per_association}


def ratio(ours: float, theirs: float, better: Callable[[float, float], float]) -> str:
    return f"{better(ours, theirs):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="associations per case (default 200)")
    parser.add_argument("--only", choices=["tui-pacs", "storescp", "orthanc"], action="append")
    args = parser.parse_args()
    kinds = [k for k in (TuiPacs, StoreScp, Orthanc) if not args.only or k.name in args.only]
    with tempfile.TemporaryDirectory(prefix="bench-assoc-", dir=os.environ.get("BENCH_TMP")) as tmp:
        base = Path(tmp)
        files = write_set(base / "small", count=2 * args.runs, size=64, per_study=20, tag=3)
        serial, parallel = files[:args.runs], files[args.runs:]
        results: dict[str, dict[str, float]] = {}
        for kind in kinds:
            results[kind.name] = found = measure(kind, base / "recv" / kind.name, serial, parallel, args.runs)
            print(f"  {kind.name:<9} storescu {found['store']:6.1f} ms  echoscu {found['echo']:6.1f} ms  "
                  f"{PARALLEL} loops {found['parallel']:6.1f} assoc/s", flush=True)
        print()
        print(f"{'case':<38} " + " ".join(f"{k.name:>10}" for k in kinds) + "   vs orthanc  vs storescp")
        rows = [("storescu, 1 instance per run (ms)", "store", lambda a, b: b / a),
                ("echoscu per run (ms)", "echo", lambda a, b: b / a),
                (f"{PARALLEL} storescu loops (assoc/s)", "parallel", lambda a, b: a / b)]
        for title, key, better in rows:
            line = f"{title:<38} " + " ".join(f"{results[k.name][key]:10.1f}" for k in kinds)
            ours = results.get("tui-pacs")
            for peer in ("orthanc", "storescp"):
                if ours and peer in results:
                    line += f"   {ratio(ours[key], results[peer][key], better):>9}"
            print(line)
        if "tui-pacs" in results:
            print(f"tui-pacs CPU per storescu association: {results['tui-pacs']['cpu']:.1f} ms "
                  "(ratios: above 1 is faster than the peer)")


if __name__ == "__main__":
    main()
