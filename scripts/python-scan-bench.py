#!/usr/bin/env python3
"""A scan of one long lossless series (1 M points by default) through the Python client, against
the CSV endpoint read with curl, on a real alicedb-cloud and a real alicedb-agent on loopback.

The series is a shared data set's values repeated on a 1 Hz clock, written with `alicedb import`
into a node's gateway directory and into an agent's data directory. Each timing is the median of
--repeats runs. Before timing, the client's answer is compared with the stored values bit for bit
(`alicedb export` of the same directory, and the imported CSV itself).

Usage: scripts/python-scan-bench.py [--bin .build/release] [--points 1000000] [--repeats 5]
       (the client from `pip install ./python`, or python/src on the path)
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "src"))
from alicedb import Client, parse_points_csv  # noqa: E402

TOKEN = "bench-reader-0123456789"
START = 1_700_000_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(log: Path, prefix: str, proc: subprocess.Popen) -> str:
    for _ in range(1200):  # 60 s: start-up on a loaded machine
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return line
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited: {log.read_text()}")
        time.sleep(0.05)
    sys.exit(f"{proc.args[0]} did not start: {log.read_text()}")


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "elf_air_pressure.csv"))
    args = ap.parse_args()
    b = Path(args.bin)
    work = Path(tempfile.mkdtemp(prefix="alicedb-pybench-"))
    procs = []
    try:
        texts = [line.split(",", 1)[1].strip() for line in open(args.data).read().splitlines()[1:] if "," in line]
        csv = work / "series.csv"
        with open(csv, "w") as f:
            f.write("ts,value\n")
            for i in range(args.points):
                f.write(f"{START + i * 1000},{texts[i % len(texts)]}\n")
        gw = work / "cloud" / "gateways" / "bench"
        gw.parent.mkdir(parents=True)
        subprocess.run([b / "alicedb", "import", csv, "--db", gw, "--series", "s"], check=True, stdout=subprocess.DEVNULL)
        shutil.copytree(gw, work / "agent")

        cloud_port = free_port()
        (work / "cloud.toml").write_text(
            f'[server]\nlisten = "127.0.0.1:{cloud_port}"\nrate_limit = 1000000\nrate_burst = 1000000\n'
            f'[storage]\npath = "{work / "cloud"}"\n[[gateway]]\nname = "bench"\ntoken = "bench-gateway-token"\n'
            f'[[reader]]\nname = "bench"\ntoken = "{TOKEN}"\n'
        )
        cloud = subprocess.Popen([b / "alicedb-cloud", "--config", work / "cloud.toml", "--log-level", "warning"],
                                 stdout=open(work / "cloud.log", "w"), stderr=subprocess.STDOUT)
        procs.append(cloud)
        (work / "agent.toml").write_text(
            f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n[storage]\npath = "{work / "agent"}"\n'
            f'[http]\nlisten = "127.0.0.1:0"\nquery = true\nreader_token = "{TOKEN}"\ngateway = "bench"\n'
            f'[[subscribe]]\ntopic = "x/#"\n'
        )
        agent = subprocess.Popen([b / "alicedb-agent", "--config", work / "agent.toml", "--log-level", "error"],
                                 stdout=open(work / "agent.log", "w"), stderr=subprocess.STDOUT)
        procs.append(agent)
        wait_line(work / "cloud.log", "alicedb-cloud listening on", cloud)
        agent_port = int(wait_line(work / "agent.log", "alicedb-agent listening on", agent).rsplit(":", 1)[1])
        nodes = {"cloud": f"http://127.0.0.1:{cloud_port}", "agent": f"http://127.0.0.1:{agent_port}"}

        # What is stored: the CLI's export of the same directory (its values parse back to the same bits).
        export = subprocess.run([b / "alicedb", "export", "--db", gw, "--series", "s"], check=True,
                                capture_output=True).stdout
        stored_ts, stored = parse_points_csv(export)
        written_ts, written = parse_points_csv(csv.read_bytes())
        assert len(stored) == args.points and np.array_equal(stored_ts, written_ts)
        assert np.array_equal(stored.view(np.uint64), written.view(np.uint64)), "lossless: stored as written"

        print(f"{args.points} points, {len(texts)} distinct texts from {Path(args.data).name}; medians of {args.repeats}")
        for where, url in nodes.items():
            db = Client(url, TOKEN, gateway="bench", frames=False)
            p = db.scan("s")
            ok = np.array_equal(p.epoch_ms, stored_ts) and np.array_equal(p.values.view(np.uint64), stored.view(np.uint64))
            print(f"{where}: client scan bit-exact: {ok}")
            assert ok
            curl = ["curl", "-sf", "-o", os.devnull, "-H", f"Authorization: Bearer {TOKEN}"]
            page = {"cloud": 1_000_000, "agent": 25_000}[where]  # the default max_scan_points

            def csv_endpoint():  # every page, as curl reads it (bytes only, nothing parsed)
                for start in range(0, args.points, page):
                    frm, to = START + start * 1000, START + min(args.points, start + page) * 1000 - 1
                    subprocess.run(curl + [f"{url}/v1/scan?gateway=bench&series=s&from={frm}&to={to}&format=csv"],
                                   check=True)

            t_curl = median_time(csv_endpoint, args.repeats)
            t_numpy = median_time(lambda: db.scan("s"), args.repeats)
            line = f"{where}: CSV endpoint (curl) {t_curl:.3f} s, Python client (numpy) {t_numpy:.3f} s"
            try:
                import pandas  # noqa: F401

                frames = Client(url, TOKEN, gateway="bench", frames=True)
                t_pandas = median_time(lambda: frames.scan("s"), args.repeats)
                line += f", Python client (DataFrame) {t_pandas:.3f} s"
            except ImportError:
                pass
            print(line)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
