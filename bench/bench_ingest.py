"""Ingest benchmark: dcmtk storescu into ``tui-pacs serve``, dcmtk storescp and Orthanc.

Same synthetic files, same run, same machine; every receiver starts empty
for every case. Cases: 1,000 CT images of 512x512 (0.5 MB) and 2,000 small
images (64x64, about 10 KB), each from one storescu and from four in
parallel. tui-pacs runs with fsync and indexing on (its only mode); Orthanc
with its defaults (fsync on, SQLite index); storescp only writes files
(``--fork`` for the parallel cases, as peers.md measured it).

Each case runs ``--rounds`` times, the receivers taking turns (their order
rotates from round to round), because on a shared 2-core VM one run of a
few seconds varies by 15 % or more from the next: a single run decided
little. Prints, per case and receiver, the median instances per second and
the range over the rounds; the ratios tui-pacs/Orthanc and tui-pacs/storescp
of the medians, with the range of the ratios measured round by round; and
tui-pacs's peak memory (RSS) while receiving.

    python bench/bench_ingest.py [--large 1000] [--small 2000] [--rounds 3] [--only tui-pacs]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synth import write_set

HOST = "127.0.0.1"
ENV = {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"receiver exited with {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def rss_of_tree(pid: int) -> int:
    """Resident memory in bytes of ``pid`` and its children (from /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class Receiver:
    name = ""
    aet = ""

    def __init__(self, workdir: Path, senders: int) -> None:
        self.workdir = workdir
        self.senders = senders
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return ENV

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "receiver.log", "wb")
        self.process = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                        cwd=self.workdir, start_new_session=True)
        wait_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()

    def count(self) -> int:
        return -1


class TuiPacs(Receiver):
    name, aet = "tui-pacs", "TUIPACS"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "tui_pacs", "serve", "--quiet", "--aet", self.aet, "--port",
                str(self.port), "--bind", HOST]

    def env(self) -> dict[str, str]:
        return {**ENV, "TUI_PACS_HOME": str(self.workdir / "home")}

    def count(self) -> int:
        import sqlite3

        db = self.workdir / "home" / "data" / "index.sqlite"
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM instance").fetchone()[0])


class StoreScp(Receiver):
    name, aet = "storescp", "STORESCP"

    def argv(self) -> list[str]:
        out = self.workdir / "in"
        out.mkdir(parents=True, exist_ok=True)
        fork = ["--fork"] if self.senders > 1 else []
        return ["storescp", "--aetitle", self.aet, "+xa", "-od", str(out), *fork, str(self.port)]

    def count(self) -> int:
        return sum(1 for p in (self.workdir / "in").iterdir() if p.is_file())


class Orthanc(Receiver):
    name, aet = "orthanc", "ORTHANC"

    def argv(self) -> list[str]:
        self.http = free_port()
        config = {
            "Name": "bench", "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"), "DicomAet": self.aet, "DicomPort": self.port,
            "HttpPort": self.http, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False, "DicomAlwaysAllowStore": True, "DicomAlwaysAllowFind": True, "SaveJobs": False, "Plugins": [],
        }
        (self.workdir / "orthanc.json").write_text(json.dumps(config))
        return ["Orthanc", str(self.workdir / "orthanc.json")]

    def count(self) -> int:
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://{HOST}:{self.http}/statistics", timeout=10) as response:
            return int(json.loads(response.read())["CountInstances"])


def send(receiver: Receiver, folders: list[Path]) -> float:
    """Run one storescu per folder at once; seconds until the last one finishes."""
    start = time.perf_counter()
    senders = [subprocess.Popen(["storescu", "-nh", "-aec", receiver.aet, "+sd", "+r", HOST,
                                 str(receiver.port), str(folder)], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for folder in folders]
    for sender in senders:
        _, err = sender.communicate(timeout=1800)
        if sender.returncode != 0:
            raise RuntimeError(f"storescu into {receiver.name} failed: {err.decode()[-500:]}")
    return time.perf_counter() - start


def run_case(kind: type[Receiver], workdir: Path, folders: list[Path], total: int) -> tuple[float, int]:
    # The previous receiver's files (up to 500 MB) may still be in the page cache, unwritten: whoever
    # flushes the filesystem next would pay for them. Every receiver starts on a clean page cache.
    os.sync()
    receiver = kind(workdir, len(folders))
    receiver.start()
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        assert receiver.process is not None
        while not done.is_set():
            peak[0] = max(peak[0], rss_of_tree(receiver.process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        seconds = send(receiver, folders)
        done.set()
        sampler.join()
        stored = settled_count(receiver, total)
        if stored not in (-1, total):
            raise RuntimeError(f"{receiver.name} holds {stored} of {total} instances")
    finally:
        done.set()
        receiver.stop()
        # The files stay until the whole run ends: deleting 500 MB here (online discard on this
        # kind of VM) slowed the flushes of whichever receiver came next.
    return total / seconds, peak[0]


def settled_count(receiver: Receiver, total: int, patience: float = 10.0) -> int:
    """The receiver's instance count once it reaches ``total`` or stops changing.

    Orthanc's /statistics can trail its last C-STORE response (seen once: 1,999 of 2,000 right
    after storescu returned); the timing is already taken, this only checks that all arrived.
    """
    deadline = time.monotonic() + patience
    stored = receiver.count()
    while stored not in (-1, total) and time.monotonic() < deadline:
        time.sleep(0.2)
        stored = receiver.count()
    return stored


def split(files: list[Path], parts: int, base: Path) -> list[Path]:
    """Hard-link ``files`` into ``parts`` folders, one per parallel sender."""
    folders = [base / f"part{i}" for i in range(parts)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(files):
        os.link(path, folders[index % parts] / path.name)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each case per receiver (default 3)")
    parser.add_argument("--only", choices=["tui-pacs", "storescp", "orthanc"], action="append")
    args = parser.parse_args()
    kinds = [k for k in (TuiPacs, StoreScp, Orthanc) if not args.only or k.name in args.only]
    rounds = max(1, args.rounds)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-", dir=os.environ.get("BENCH_TMP")) as tmp:
        base = Path(tmp)
        print("generating files ...", flush=True)
        large = write_set(base / "large", count=args.large, size=512, per_study=100, tag=1)
        small = write_set(base / "small", count=args.small, size=64, per_study=20, tag=2)
        cases = [
            (f"{len(large)} x 512x512 CT, 1 sender", [base / "large"], len(large)),
            (f"{len(small)} x 64x64, 1 sender", [base / "small"], len(small)),
            (f"{len(large)} x 512x512 CT, 4 senders", split(large, 4, base / "large4"), len(large)),
            (f"{len(small)} x 64x64, 4 senders", split(small, 4, base / "small4"), len(small)),
        ]
        results: dict[str, dict[str, list[tuple[float, int]]]] = {}
        for title, folders, total in cases:
            if not total:
                continue
            results[title] = {kind.name: [] for kind in kinds}
            for round_ in range(rounds):
                turn = round_ % len(kinds)
                for kind in kinds[turn:] + kinds[:turn]:
                    workdir = base / "recv" / f"{kind.name}-{len(results)}-{round_}"
                    rate, peak = run_case(kind, workdir, folders, total)
                    results[title][kind.name].append((rate, peak))
                    print(f"  {title:<32} {kind.name:<9} {rate:8.1f} inst/s  peak RSS {peak / 2**20:6.1f} MB",
                          flush=True)
        report(results, [k.name for k in kinds], rounds)


def report(results: dict[str, dict[str, list[tuple[float, int]]]], names: list[str], rounds: int) -> None:
    """The table: medians over the rounds, the range of each, ratios of the medians."""
    print()
    print(f"median of {rounds} round{'s' if rounds > 1 else ''} (range)")
    print(f"{'case':<32} " + " ".join(f"{name:>22}" for name in names) + "   vs orthanc (range)  vs storescp")
    for title, row in results.items():
        rates = {name: [rate for rate, _ in runs] for name, runs in row.items()}
        line = f"{title:<32} " + " ".join(
            f"{statistics.median(rates[name]):8.1f} ({min(rates[name]):.0f}-{max(rates[name]):.0f})".rjust(22)
            for name in names)
        if "tui-pacs" in rates and "orthanc" in rates:
            ratio = statistics.median(rates["tui-pacs"]) / statistics.median(rates["orthanc"])
            per_round = [ours / theirs for ours, theirs in zip(rates["tui-pacs"], rates["orthanc"])]
            line += f"   {ratio:5.2f}x ({min(per_round):.2f}-{max(per_round):.2f})"
        if "tui-pacs" in rates and "storescp" in rates:
            line += f"  {statistics.median(rates['tui-pacs']) / statistics.median(rates['storescp']):9.2f}x"
        print(line)
    peaks = [peak for row in results.values() for peak in (p for _, p in row.get("tui-pacs", []))]
    if peaks:
        print(f"tui-pacs peak RSS while receiving: {max(peaks) / 2**20:.1f} MB (goal: under 250 MB)")

if __name__ == "__main__":
    main()
