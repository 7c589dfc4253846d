#!/usr/bin/env python3
"""The agent's peak resident memory (VmHWM, /proc/PID/status) while the Python client scans one long
lossless series (1 M points by default) from its read API, for each page size given.

For each --pages value and each run, a fresh `alicedb-agent` (release build) starts on a copy of
the same data directory (the series written by `alicedb import`, so all of it is in segments) with
`[http] max_scan_points` set to it; VmHWM is read once it listens, and again after one full scan
through the client (which pages). Prints the medians of --runs runs.

Usage: scripts/agent-scan-rss.py [--bin .build/release] [--points 1000000] [--runs 3]
                                 [--pages 100000 25000]
"""

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "src"))
sys.path.insert(0, str(ROOT / "scripts"))
from alicedb import Client  # noqa: E402

bench = __import__("python-scan-bench")
TOKEN = "rss-reader-0123456789"


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", type=int, nargs="+", default=[100_000, 25_000])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "elf_air_pressure.csv"))
    args = ap.parse_args()
    b = Path(args.bin)
    work = Path(tempfile.mkdtemp(prefix="alicedb-rss-"))
    try:
        texts = [line.split(",", 1)[1].strip() for line in open(args.data).read().splitlines()[1:] if "," in line]
        csv = work / "series.csv"
        with open(csv, "w") as f:
            f.write("ts,value\n")
            for i in range(args.points):
                f.write(f"{bench.START + i * 1000},{texts[i % len(texts)]}\n")
        subprocess.run([b / "alicedb", "import", csv, "--db", work / "data", "--series", "s"], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"{args.points} points ({Path(args.data).name} repeated, lossless); medians of {args.runs} runs")
        for page in args.pages:
            idle, peak = [], []
            for run in range(args.runs):
                shutil.rmtree(work / "agent", ignore_errors=True)
                shutil.copytree(work / "data", work / "agent")
                (work / "agent.toml").write_text(
                    f'[mqtt]\nhost = "127.0.0.1"\nport = {bench.free_port()}\n[storage]\npath = "{work / "agent"}"\n'
                    f'[http]\nlisten = "127.0.0.1:0"\nquery = true\nreader_token = "{TOKEN}"\ngateway = "g"\n'
                    f'max_scan_points = {page}\n[[subscribe]]\ntopic = "x/#"\n'
                )
                log = work / "agent.log"
                agent = subprocess.Popen([b / "alicedb-agent", "--config", work / "agent.toml", "--log-level", "error"],
                                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
                try:
                    port = int(bench.wait_line(log, "alicedb-agent listening on", agent).rsplit(":", 1)[1])
                    idle.append(vm_hwm_kib(agent.pid))
                    p = Client(f"http://127.0.0.1:{port}", TOKEN, frames=False).scan("s")
                    assert len(p.values) == args.points
                    peak.append(vm_hwm_kib(agent.pid))
                finally:
                    agent.send_signal(signal.SIGTERM)
                    agent.wait(60)
            print(f"max_scan_points {page}: VmHWM listening {statistics.median(idle) / 1024:.1f} MiB, "
                  f"after the scan {statistics.median(peak) / 1024:.1f} MiB (runs: {[round(k / 1024, 1) for k in peak]})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
