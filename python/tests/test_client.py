"""The Python client against a real alicedb-cloud and a real alicedb-agent (conftest.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple
import json
import math
import time
import urllib.request

import numpy as np
import pytest

import alicedb
from alicedb import AliceDBError, AuthError, BadRequestError, Client, NotFoundError, Points
from conftest import (
    AGENT_MAX_SCAN,
    AGENT_TOKEN,
    CLOUD_MAX_SCAN,
    GATEWAY,
    GATEWAY_TOKEN,
    READER_TOKEN,
    START_MS,
    Nodes,
    pandas_or_skip,
    publish,
)


def clients(nodes: Nodes):
    """The node through a reader token, and the agent (no gateway needed: it is one)."""
    return [
        ("cloud", Client(nodes.cloud_url, READER_TOKEN, gateway=GATEWAY, frames=False)),
        ("agent", Client(nodes.agent_url, AGENT_TOKEN, frames=False)),
    ]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype == np.float64 and np.array_equal(a.view(np.uint64), b.view(np.uint64))


class CountingClient(Client):
    """Counts the requests of a call (to see the pages)."""

    requests = 0

    def _request(self, path, params):
        CountingClient.requests += 1
        return super()._request(path, params)


@pytest.mark.parametrize("where", ["cloud", "agent"])
def test_a_full_scan_pages_and_gives_back_the_stored_bits(nodes: Nodes, where: str):
    s = nodes.series["lab/hostile"]
    url, token, page = (
        (nodes.cloud_url, READER_TOKEN, CLOUD_MAX_SCAN) if where == "cloud" else (nodes.agent_url, AGENT_TOKEN, AGENT_MAX_SCAN)
    )
    db = CountingClient(url, token, gateway=GATEWAY, frames=False)
    CountingClient.requests = 0
    p = db.scan(s.name)
    assert isinstance(p, Points)
    assert CountingClient.requests >= len(s.values) // page, "the scan came in pages"
    assert p.timestamps.dtype == np.dtype("datetime64[ns]") and p.values.dtype == np.float64
    assert np.array_equal(p.epoch_ms, s.timestamps)
    assert same_bits(p.values, s.values), "every value, NaN payloads, -0.0 and infinities included"
    assert np.isnan(p.values).sum() == np.isnan(s.values).sum() > 0


def test_cloud_and_agent_answer_alike(nodes: Nodes):
    (_, cloud), (_, agent) = clients(nodes)
    for name in nodes.series:
        a, b = cloud.scan(name, epoch_ms=True), agent.scan(name, epoch_ms=True)
        assert np.array_equal(a.timestamps, b.timestamps) and same_bits(a.values, b.values)
        x, y = cloud.aggregate(name), agent.aggregate(name)
        assert np.array_equal(astuple(x), astuple(y), equal_nan=True)
    assert cloud.series() == agent.series() == sorted(nodes.series)


def test_page_size_and_ranges(nodes: Nodes):
    s = nodes.series["plant/volts"]
    for _, db in clients(nodes):
        lo, hi = START_MS + 1_000_000, START_MS + 4_000_000
        p = db.scan(s.name, lo, hi, page_size=700)
        wanted = (s.timestamps >= lo) & (s.timestamps <= hi)
        assert np.array_equal(p.epoch_ms, s.timestamps[wanted]), "both ends are included"
        assert same_bits(p.values, s.values[wanted])
        # The same range as datetimes (naive: UTC), numpy datetimes and ISO text.
        start = dt.datetime(2026, 12, 1) + dt.timedelta(milliseconds=1_000_000)
        assert np.array_equal(db.scan(s.name, start, np.datetime64(hi, "ms")).epoch_ms, p.epoch_ms)
        assert len(db.scan(s.name, "2026-12-01T00:16:40Z", "2026-12-01T01:06:40")) == len(p)
        assert len(db.scan(s.name, hi + 1, hi + 999)) == 0


def test_aggregate_and_downsample(nodes: Nodes):
    s = nodes.series["plant/volts"]
    for _, db in clients(nodes):
        a = db.aggregate(s.name)
        assert a.count == len(s.values)
        assert a.min == s.values.min() and a.max == s.values.max()
        assert a.sum == pytest.approx(s.values.sum(), rel=1e-12)
        assert a.avg == pytest.approx(s.values.mean(), rel=1e-12)
        part = db.aggregate(s.name, START_MS, START_MS + 59_000)
        assert part.count == 60 and part.max == s.values[:60].max()

        d = db.downsample(s.name, "1m", "max")
        minutes = (s.timestamps - s.timestamps[0]) // 60_000
        assert len(d) == minutes[-1] + 1
        assert np.array_equal(d.epoch_ms, s.timestamps[0] + np.unique(minutes) * 60_000)
        expected = np.array([s.values[minutes == m].max() for m in np.unique(minutes)])
        assert same_bits(d.values, expected)
        counts = db.downsample(s.name, dt.timedelta(minutes=10), "count", START_MS, START_MS + 3_599_999)
        assert counts.values.tolist() == [600.0] * 6

        with pytest.raises(BadRequestError) as e:
            db.downsample(s.name, 1, "avg")
        assert e.value.status == 400 and "buckets" in e.value.message


def test_stats_series_gateways_and_get(nodes: Nodes):
    s = nodes.series["plant/volts"]
    for where, db in clients(nodes):
        rows = {r.name: r for r in db.stats()}
        assert set(nodes.series) <= set(rows)
        r = db.stats(s.name)[0]
        assert r.points == len(s.values) and r.bytes > 0 and r.max_error == 0
        assert r.first == np.datetime64(int(s.timestamps[0]), "ms") and r.last == np.datetime64(int(s.timestamps[-1]), "ms")
        assert [g.name for g in db.gateways()] == [GATEWAY]
        assert db.get(s.name, int(s.timestamps[7])) == s.values[7]
        assert db.get(s.name, int(s.timestamps[7]) + 1) is None
        with pytest.raises(NotFoundError):
            db.stats("no/such/series")


def test_errors_carry_the_nodes_status_code_and_message(nodes: Nodes):
    cloud = Client(nodes.cloud_url, READER_TOKEN, frames=False)
    with pytest.raises(BadRequestError) as e:
        cloud.scan("plant/volts")  # a reader names the gateway
    assert (e.value.status, e.value.code, e.value.message) == (400, "bad_request", "missing parameter 'gateway'")

    for url, token in ((nodes.cloud_url, "not-a-token-at-all"), (nodes.agent_url, "not-a-token-at-all")):
        with pytest.raises(AuthError) as e:
            Client(url, token, gateway=GATEWAY).series()
        assert (e.value.status, e.value.code, e.value.message) == (401, "unknown_token", "unknown token")
        with pytest.raises(AuthError) as e:
            Client(url, None, gateway=GATEWAY).series()
        assert (e.value.status, e.value.code) == (401, "missing_token")

    for _, db in clients(nodes):
        with pytest.raises(NotFoundError) as e:
            db.scan("no/such/series")
        assert e.value.status == 404 and "no/such/series" in str(e.value)
        with pytest.raises(NotFoundError) as e:
            db.series(gateway="gw-elsewhere")
        assert e.value.message == "no data from gateway 'gw-elsewhere'"
        with pytest.raises(ValueError):
            db.downsample("plant/volts", "1m", "median")

    # A gateway's own token reads its own data only, on the node.
    own = Client(nodes.cloud_url, GATEWAY_TOKEN, frames=False)
    assert len(own.scan("plant/volts", START_MS, START_MS + 9_000)) == 10
    with pytest.raises(AuthError) as e:
        own.series(gateway="gw-2")
    assert e.value.status == 403

    with pytest.raises(alicedb.TransportError):
        Client("http://127.0.0.1:1", READER_TOKEN, timeout=2).series()
    assert issubclass(alicedb.TransportError, AliceDBError)


def test_the_agent_answers_from_its_memtables(nodes: Nodes):
    """Points that arrived over MQTT seconds ago are in the agent's MemTables, not in segments yet."""
    db = Client(nodes.agent_url, AGENT_TOKEN, frames=False)
    before = int(time.time() * 1000)
    publish(nodes.broker_port, "sensors/live", ["1.25", "-0.0", "inf", "1e300"])  # series "sensors.live"
    p = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            p = db.scan("sensors.live")
            if len(p) == 4:
                break
        except NotFoundError:
            pass
        time.sleep(0.05)
    assert p is not None and len(p) == 4, nodes.agent.log
    assert same_bits(p.values, np.array([1.25, -0.0, math.inf, 1e300]))
    assert (p.epoch_ms >= before - 1000).all(), "arrival times"
    assert db.stats("sensors.live")[0].points == 4
    assert db.stats("sensors.live")[0].segments == 0, "nothing flushed yet"


def prom(url: str, token: str, path: str) -> dict:
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_one_grafana_query_answers_alike_on_the_node_and_the_agent(nodes: Nodes):
    start, end = START_MS // 1000, START_MS // 1000 + 6 * 3600
    q = urllib.request.quote(f'max_over_time(alicedb{{gateway="{GATEWAY}", series="plant/volts"}}[5m])')
    path = f"/api/v1/query_range?query={q}&start={start}&end={end}&step=300"
    a = prom(nodes.cloud_url, READER_TOKEN, path)
    b = prom(nodes.agent_url, AGENT_TOKEN, path)
    assert a["status"] == "success" and len(a["data"]["result"]) == 1
    assert a == b
    labels = "/api/v1/label/gateway/values"
    assert prom(nodes.cloud_url, READER_TOKEN, labels)["data"] == prom(nodes.agent_url, AGENT_TOKEN, labels)["data"] == [GATEWAY]


def test_dataframes_when_pandas_is_there(nodes: Nodes):
    pd = pandas_or_skip()
    s = nodes.series["lab/hostile"]
    for url, token in ((nodes.cloud_url, READER_TOKEN), (nodes.agent_url, AGENT_TOKEN)):
        db = Client(url, token, gateway=GATEWAY)
        df = db.scan(s.name)
        assert isinstance(df, pd.DataFrame) and list(df.columns) == ["value"]
        assert df.index.dtype == np.dtype("datetime64[ns]") and df["value"].dtype == np.float64
        assert np.array_equal(df.index.values.astype(np.int64) // 1_000_000, s.timestamps)
        assert same_bits(df["value"].to_numpy(), s.values)
        d = db.downsample("plant/volts", "1h", "avg")
        assert list(d.columns) == ["avg"] and len(d) == 6
        st = db.stats()
        assert st.loc["plant/volts", "points"] == 20_000 and st["first"].dtype == np.dtype("datetime64[ns]")
