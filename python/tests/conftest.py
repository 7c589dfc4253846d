"""The real thing, started by the tests: a mosquitto broker, an ``alicedb-cloud`` node and an
``alicedb-agent`` with ``[http] query = true``, from the package's built (debug) binaries, all on
127.0.0.1 with free ports, in a temporary directory removed at the end.

Both hold the same series, written with ``alicedb import`` before they start (the node's embedded
store keeps a gateway in ``<path>/gateways/<name>``); the agent also takes live MQTT messages.
``ALICEDB_BIN`` names another folder of binaries (default: ``<repo>/.build/debug``).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GATEWAY = "gw-1"
GATEWAY_TOKEN = "gw-1-token-0123456789"
READER_TOKEN = "py-reader-token-0123456789"
AGENT_TOKEN = "agent-reader-token-0123456789"
#: Pages of the node and of the agent, far below the series' points: every full scan pages.
CLOUD_MAX_SCAN = 4000
AGENT_MAX_SCAN = 3000
START_MS = 1_796_083_200_000  # 2026-12-01T00:00:00Z


def binary(name: str) -> str:
    folder = Path(os.environ.get("ALICEDB_BIN", REPO / ".build" / "debug"))
    path = folder / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build the package first (swift build), or set ALICEDB_BIN")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def value_text(v: float) -> str:
    """A value as the node writes it (and `alicedb import` reads back to the same bits)."""
    if math.isnan(v):
        bits = struct.unpack("<Q", struct.pack("<d", v))[0]
        return "nan" if bits == 0x7FF8000000000000 else f"nan:0x{bits:x}"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


@dataclass
class Series:
    name: str
    timestamps: np.ndarray  # int64 epoch ms
    values: np.ndarray  # float64


def hostile_series(n: int) -> Series:
    """Values that test bit-exactness: random bit patterns (subnormals, huge, tiny), -0.0, ±inf,
    the quiet NaN and NaNs with payloads, among ordinary readings; a timestamp twice here and there."""
    rng = random.Random(25)
    ts, vs = [], []
    t = START_MS
    for i in range(n):
        t += rng.choice((0, 1, 250, 1000, 1000, 1000)) if i else 0
        k = i % 10
        if k < 5:
            v = round(20 + 5 * math.sin(i / 300) + rng.random(), 2)
        elif k < 8:
            while True:
                v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
                if not math.isnan(v):
                    break
        else:
            v = rng.choice(
                (
                    -0.0,
                    math.inf,
                    -math.inf,
                    math.nan,
                    struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000 | rng.getrandbits(51) | 1))[0],
                    5e-324,
                    1.7976931348623157e308,
                )
            )
        ts.append(t)
        vs.append(v)
    return Series("lab/hostile", np.array(ts, dtype=np.int64), np.array(vs, dtype=np.float64))


def plain_series(n: int) -> Series:
    """A sensor: one reading per second, two decimals."""
    ts = START_MS + np.arange(n, dtype=np.int64) * 1000
    vs = np.round(230 + 3 * np.sin(np.arange(n) / 500) + np.cos(np.arange(n) / 37), 2)
    return Series("plant/volts", ts, vs)


def write_csv(s: Series, path: Path) -> None:
    with open(path, "w") as f:
        f.write("ts,value\n")
        for t, v in zip(s.timestamps.tolist(), s.values.tolist()):
            f.write(f"{t},{value_text(v)}\n")


def import_series(series: List[Series], db: Path, work: Path) -> None:
    for s in series:
        csv = work / (s.name.replace("/", "_") + ".csv")
        write_csv(s, csv)
        subprocess.run(
            [binary("alicedb"), "import", str(csv), "--db", str(db), "--series", s.name],
            check=True,
            stdout=subprocess.DEVNULL,
        )


class Child:
    """A child process with its output in a log file; SIGTERM (then SIGKILL) at the end."""

    def __init__(self, args: List[str], log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.splitlines():
                if line.startswith(prefix):
                    return line
            if self.proc.poll() is not None:
                pytest.fail(f"{self.proc.args[0]} exited with {self.proc.returncode}:\n{self.log}")
            time.sleep(0.05)
        pytest.fail(f"{self.proc.args[0]} did not print {prefix!r} within {timeout} s:\n{self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@dataclass
class Nodes:
    cloud_url: str
    agent_url: str
    broker_port: int
    series: Dict[str, Series]
    agent: Child
    cloud: Child


@pytest.fixture(scope="session")
def nodes() -> Iterator[Nodes]:
    work = Path(tempfile.mkdtemp(prefix="alicedb-pytest-"))
    children: List[Child] = []
    try:
        data = [hostile_series(25_000), plain_series(20_000)]
        cloud_data = work / "cloud" / "data"
        agent_data = work / "agent" / "data"
        (cloud_data / "gateways").mkdir(parents=True)
        agent_data.parent.mkdir(parents=True)
        import_series(data, cloud_data / "gateways" / GATEWAY, work)
        import_series(data, agent_data, work)

        cloud_port = free_port()
        (work / "cloud" / "cloud.toml").write_text(
            f"""
[server]
listen = "127.0.0.1:{cloud_port}"
max_scan_points = {CLOUD_MAX_SCAN}
rate_limit = 100000
rate_burst = 100000

[storage]
path = "{cloud_data}"

[[gateway]]
name = "{GATEWAY}"
token = "{GATEWAY_TOKEN}"

[[reader]]
name = "pytest"
token = "{READER_TOKEN}"
"""
        )
        cloud = Child(
            [binary("alicedb-cloud"), "--config", str(work / "cloud" / "cloud.toml"), "--log-level", "warning"],
            work / "cloud" / "cloud.log",
        )
        children.append(cloud)

        broker_port = free_port()
        broker_dir = work / "broker"
        broker_dir.mkdir()
        os.chmod(broker_dir, 0o777)
        conf = f"listener {broker_port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n"
        if os.getuid() == 0:
            conf += "user root\n"
        (broker_dir / "mosquitto.conf").write_text(conf)
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        broker = Child([mosquitto, "-c", str(broker_dir / "mosquitto.conf")], broker_dir / "mosquitto.log")
        children.append(broker)
        deadline = time.monotonic() + 60  # start-up on a loaded machine
        while not can_connect(broker_port):
            if time.monotonic() > deadline or broker.proc.poll() is not None:
                pytest.fail(f"mosquitto did not listen on 127.0.0.1:{broker_port}:\n{broker.log}")
            time.sleep(0.05)

        (work / "agent" / "agent.toml").write_text(
            f"""
[mqtt]
host = "127.0.0.1"
port = {broker_port}
client_id = "alicedb-pytest-agent"

[storage]
path = "{agent_data}"

[http]
listen = "127.0.0.1:0"
query = true
reader_token = "{AGENT_TOKEN}"
gateway = "{GATEWAY}"
max_scan_points = {AGENT_MAX_SCAN}

[[subscribe]]
topic = "sensors/#"
series = "{{topic}}"
"""
        )
        agent = Child(
            [binary("alicedb-agent"), "--config", str(work / "agent" / "agent.toml"), "--log-level", "warning"],
            work / "agent" / "agent.log",
        )
        children.append(agent)
        line = agent.wait_for_line("alicedb-agent listening on ")
        agent_port = int(line.rsplit(":", 1)[1])
        cloud.wait_for_line("alicedb-cloud listening on")
        while not can_connect(cloud_port):
            time.sleep(0.05)
        yield Nodes(
            cloud_url=f"http://127.0.0.1:{cloud_port}",
            agent_url=f"http://127.0.0.1:{agent_port}",
            broker_port=broker_port,
            series={s.name: s for s in data},
            agent=agent,
            cloud=cloud,
        )
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(work, ignore_errors=True)


def publish(port: int, topic: str, values: List[str]) -> None:
    """Each value as one QoS 1 message (mosquitto_pub waits for each acknowledgement)."""
    for v in values:
        subprocess.run(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic, "-m", v],
            check=True,
            timeout=20,
        )


def pandas_or_skip():
    return pytest.importorskip("pandas", reason="pandas is not installed: the DataFrame forms are not tested")


