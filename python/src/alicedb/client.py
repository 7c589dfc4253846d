"""The ALICE-DB read API from Python: one class, :class:`Client`.

The same client reads a cloud node (``alicedb-cloud``) and a gateway agent (``alicedb-agent`` with
``[http] query = true``): both answer the same ``/v1/*`` endpoints with the same code.
"""

from __future__ import annotations

import datetime as _dt
import http.client
import json
import re
import ssl
import struct
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from .errors import AliceDBError, TransportError, error_for

try:  # pandas is optional: without it, results are numpy arrays.
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised where pandas is absent
    _pd = None

#: A point in time as the client takes it: epoch milliseconds (``int``), a ``datetime`` (naive ones
#: are UTC), a ``numpy.datetime64``, a ``pandas.Timestamp`` or an ISO 8601 string.
TimeLike = Union[int, np.integer, _dt.datetime, _dt.date, np.datetime64, str]
#: A length of time: milliseconds (``int``), a ``timedelta``, a ``numpy.timedelta64`` or a
#: duration such as ``"500ms"``, ``"10s"``, ``"5m"``, ``"1h"``, ``"1d"``.
DurationLike = Union[int, np.integer, _dt.timedelta, np.timedelta64, str]

_NS_PER_MS = 1_000_000
# Epoch milliseconds that fit datetime64[ns] (about 1677-09-21 to 2262-04-11).
_MS_MIN = np.iinfo(np.int64).min // _NS_PER_MS + 1
_MS_MAX = np.iinfo(np.int64).max // _NS_PER_MS
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@dataclass(frozen=True)
class Points:
    """Points of one series in time order (what :meth:`Client.scan` and
    :meth:`Client.downsample` return without pandas).

    Attributes:
        timestamps: ``datetime64[ns]`` (or ``int64`` epoch milliseconds with ``epoch_ms=True``).
        values: ``float64``, NaN kept (``inf``, ``-0.0`` and NaN payloads too).
    """

    timestamps: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @property
    def epoch_ms(self) -> np.ndarray:
        """The timestamps as ``int64`` epoch milliseconds."""
        if self.timestamps.dtype == np.int64:
            return self.timestamps
        return self.timestamps.astype("datetime64[ms]").astype(np.int64)


@dataclass(frozen=True)
class Aggregate:
    """What :meth:`Client.aggregate` returns: exact over whole segments (from their summaries).

    ``sum``, ``avg``, ``min`` and ``max`` are NaN when the range holds no numeric value.
    """

    count: int
    sum: float
    avg: float
    min: float
    max: float


@dataclass(frozen=True)
class SeriesStats:
    """One series as :meth:`Client.stats` lists it without pandas."""

    name: str
    points: int
    segments: int
    bytes: int
    first: Optional[np.datetime64]
    last: Optional[np.datetime64]
    max_error: float
    max_error_pct: float

    @property
    def bytes_per_point(self) -> float:
        return self.bytes / self.points if self.points else 0.0


@dataclass(frozen=True)
class Gateway:
    """One gateway as :meth:`Client.gateways` lists it."""

    name: str
    series: int
    points: int
    bytes: int
    last_upload: Optional[np.datetime64]


def time_ms(t: TimeLike) -> int:
    """Epoch milliseconds of a point in time (see :data:`TimeLike`)."""
    if isinstance(t, (bool, float)):
        raise TypeError(f"a time must be epoch milliseconds (int) or a datetime, not {type(t).__name__}")
    if isinstance(t, (int, np.integer)):
        return int(t)
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        delta = t - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(t, _dt.date):
        return time_ms(_dt.datetime(t.year, t.month, t.day))
    if isinstance(t, str):
        text = t.strip()
        if text.endswith("Z"):
            text = text[:-1]
        try:
            return time_ms(_dt.datetime.fromisoformat(text))
        except ValueError:
            return time_ms(np.datetime64(t))
    if isinstance(t, np.datetime64):
        if np.isnat(t):
            raise ValueError("a time may not be NaT")
        return int(t.astype("datetime64[ms]").astype(np.int64))
    raise TypeError(f"not a time: {t!r}")


def duration_ms(d: DurationLike) -> int:
    """Milliseconds of a length of time (see :data:`DurationLike`)."""
    if isinstance(d, (bool, float)):
        raise TypeError(f"a duration must be milliseconds (int), a timedelta or a string, not {type(d).__name__}")
    if isinstance(d, np.timedelta64):  # before np.integer: it is one
        return int(d.astype("timedelta64[ms]").astype(np.int64))
    if isinstance(d, (int, np.integer)):
        return int(d)
    if isinstance(d, _dt.timedelta):
        return (d.days * 86_400 + d.seconds) * 1000 + d.microseconds // 1000
    if isinstance(d, str):
        m = _DURATION.match(d)
        if not m:
            raise ValueError(f"not a duration: {d!r} (write e.g. '500ms', '10s', '5m', '1h', '1d')")
        return int(m.group(1)) * _UNIT_MS[m.group(2)]
    raise TypeError(f"not a duration: {d!r}")


def _datetimes(ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds as ``datetime64[ns]``; out of its range (years 1678–2261) is an error."""
    if len(ms) and (ms.min() < _MS_MIN or ms.max() > _MS_MAX):
        raise ValueError(
            "timestamps outside what datetime64[ns] holds (years 1678-2261): the series' timestamps may not be "
            "epoch milliseconds; pass epoch_ms=True for them as int64"
        )
    return (ms * _NS_PER_MS).view("datetime64[ns]")


def _float(text: str) -> float:
    """A value as the node writes it: a decimal, ``nan``, ``inf``, ``-inf``, ``nan:0x<bits>``, or empty (NaN)."""
    if not text:
        return float("nan")
    if text.startswith("nan:0x"):
        return struct.unpack("<d", struct.pack("<Q", int(text[6:], 16)))[0]
    return float(text)


def parse_points_csv(body: bytes) -> Tuple[np.ndarray, np.ndarray]:
    """The ``ts,value`` rows of a CSV answer (after its header line) as ``int64`` and ``float64``
    arrays. Values parse to the identical bits the node stored (shortest round-trip decimals,
    ``-0.0``, ``inf``, ``nan`` and ``nan:0x<bits>`` for NaNs with a payload)."""
    start = body.find(b"\n") + 1
    data = body[start:]
    if not data.strip():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    fields = data.replace(b",", b"\n").split(b"\n")
    if fields and fields[-1] == b"":
        fields.pop()
    if len(fields) % 2:
        raise AliceDBError("a CSV answer with a row that is not ts,value")
    ts = np.array(fields[0::2]).astype(np.int64)
    texts = fields[1::2]
    try:
        values = np.array(texts).astype(np.float64)
    except ValueError:  # NaNs with a payload, or empty values: one at a time
        values = np.fromiter((_float(v.decode()) for v in texts), dtype=np.float64, count=len(texts))
    return ts, values


def _json_float(v: Any) -> float:
    """A JSON value of the node: a number, ``null`` (NaN) or a string such as ``"nan"``, ``"-inf"``."""
    if v is None:
        return float("nan")
    if isinstance(v, str):
        return _float(v)
    return float(v)


class Client:
    """A connection to a cloud node or a gateway agent, which answer the same read API.

    >>> db = Client("http://127.0.0.1:8470", token="dev-reader")
    >>> df = db.scan("sensors/boiler/temp", gateway="gateway-1", start="2026-12-01", end="2026-12-02")

    Args:
        url: the node's base URL: ``http://host:8470`` for a cloud node, ``http://127.0.0.1:9464``
            for an agent's listener; ``https://`` works too.
        token: a reader's token (any gateway), a gateway's (its own data), or the agent's
            ``reader_token``; sent as ``Authorization: Bearer``.
        gateway: the gateway read when a call does not name one. A cloud node's reader must name
            one; a gateway's token and an agent need none (an agent is the one gateway it is).
        timeout: seconds for each request.
        frames: ``True`` for pandas DataFrames, ``False`` for numpy results, ``None`` (default) for
            DataFrames when pandas is installed.
        ssl_context: for ``https://``, e.g. one that trusts a private CA.
    """

    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        *,
        gateway: Optional[str] = None,
        timeout: float = 60.0,
        frames: Optional[bool] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http://host:port or https://host:port, not {url!r}")
        if frames and _pd is None:
            raise ImportError("frames=True needs pandas: pip install pandas")
        self.url = url.rstrip("/")
        self.token = token
        self.gateway = gateway
        self.timeout = timeout
        self.frames = _pd is not None if frames is None else frames
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._ssl = ssl_context

    def __repr__(self) -> str:
        return f"Client({self.url!r}, gateway={self.gateway!r})"

    # MARK: HTTP

    def _request(self, path: str, params: Dict[str, Any]) -> Tuple[bytes, Dict[str, str]]:
        """GET ``path`` with ``params`` (None values left out); the body and the headers (lower case).

        Raises:
            AliceDBError: a subclass for the node's refusal (with its status, code and message),
                or :class:`TransportError` when no answer came.
        """
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        target = f"{self._base}{path}" + (f"?{query}" if query else "")
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        headers = {"Accept-Encoding": "identity", "User-Agent": "alicedb-python"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(f"no answer from {self.url}: {e}", url=url) from e
        finally:
            conn.close()
        if status >= 400:
            message, code = body.decode("utf-8", "replace").strip(), None
            try:
                doc = json.loads(body)
                if isinstance(doc, dict):
                    message = str(doc.get("error", message))
                    code = doc.get("code") or doc.get("errorType")
            except ValueError:
                pass
            raise error_for(status, message or f"HTTP {status}", code, url)
        return body, answer_headers

    def _json(self, path: str, params: Dict[str, Any]) -> Any:
        body, _ = self._request(path, params)
        return json.loads(body)

    def _gateway(self, gateway: Optional[str]) -> Optional[str]:
        return gateway if gateway is not None else self.gateway

    def _frames(self, frame: Optional[bool]) -> bool:
        if frame and _pd is None:
            raise ImportError("frame=True needs pandas: pip install pandas")
        return self.frames if frame is None else frame

    # MARK: Listings

    def gateways(self) -> List[Gateway]:
        """The gateways with data that the token may read (on an agent: the agent itself)."""
        doc = self._json("/v1/gateways", {})
        out = []
        for g in doc["gateways"]:
            last = g.get("last_upload_ms")
            out.append(
                Gateway(
                    name=g["name"],
                    series=int(g["series"]),
                    points=int(g["points"]),
                    bytes=int(g["bytes"]),
                    last_upload=None if last is None else np.datetime64(int(last), "ms").astype("datetime64[ns]"),
                )
            )
        return out

    def series(self, gateway: Optional[str] = None) -> List[str]:
        """The names of a gateway's series, sorted."""
        return sorted(s["name"] for s in self._series_docs(gateway))

    def _series_docs(self, gateway: Optional[str]) -> List[Dict[str, Any]]:
        return list(self._json("/v1/series", {"gateway": self._gateway(gateway)})["series"])

    def stats(self, series: Optional[str] = None, *, gateway: Optional[str] = None, frame: Optional[bool] = None):
        """Statistics of a gateway's series (or of one): points, segments, bytes, bytes per point,
        first and last timestamp, error bound.

        Returns:
            a DataFrame indexed by series name (columns ``points``, ``segments``, ``bytes``,
            ``bytes_per_point``, ``first``, ``last`` as ``datetime64[ns]``, ``max_error``,
            ``max_error_pct``), or a list of :class:`SeriesStats` without pandas.

        Raises:
            NotFoundError: no such series (when one is named), or no data from the gateway.
        """
        docs = self._series_docs(gateway)
        if series is not None:
            docs = [d for d in docs if d["name"] == series]
            if not docs:
                raise error_for(404, f"no series '{series}'", "not_found", f"{self.url}/v1/series")

        def when(v: Any) -> Optional[np.datetime64]:
            return None if v is None else _datetimes(np.array([int(v)], dtype=np.int64))[0]

        rows = [
            SeriesStats(
                name=d["name"],
                points=int(d["points"]),
                segments=int(d["segments"]),
                bytes=int(d["bytes"]),
                first=when(d["first"]),
                last=when(d["last"]),
                max_error=_json_float(d["max_error"]),
                max_error_pct=_json_float(d["max_error_pct"]),
            )
            for d in docs
        ]
        if not self._frames(frame):
            return rows
        nat = np.datetime64("NaT", "ns")
        return _pd.DataFrame(
            {
                "points": np.array([r.points for r in rows], dtype=np.int64),
                "segments": np.array([r.segments for r in rows], dtype=np.int64),
                "bytes": np.array([r.bytes for r in rows], dtype=np.int64),
                "bytes_per_point": np.array([r.bytes_per_point for r in rows], dtype=np.float64),
                "first": np.array([nat if r.first is None else r.first for r in rows], dtype="datetime64[ns]"),
                "last": np.array([nat if r.last is None else r.last for r in rows], dtype="datetime64[ns]"),
                "max_error": np.array([r.max_error for r in rows], dtype=np.float64),
                "max_error_pct": np.array([r.max_error_pct for r in rows], dtype=np.float64),
            },
            index=_pd.Index([r.name for r in rows], name="series"),
        )

    # MARK: Data

    def scan(
        self,
        series: str,
        start: Optional[TimeLike] = None,
        end: Optional[TimeLike] = None,
        *,
        gateway: Optional[str] = None,
        page_size: Optional[int] = None,
        frame: Optional[bool] = None,
        epoch_ms: bool = False,
    ):
        """Every point of a series in ``[start, end]`` (both included; default: all of it), exactly
        as stored: lossless series give back the identical bits.

        The node answers at most ``max_scan_points`` points a request (1 000 000 on a cloud node,
        25 000 on an agent by default); the client asks for page after page until none remain.

        Args:
            series: the series name (``/`` allowed).
            start, end: see :data:`TimeLike`; epoch milliseconds for the agent's data.
            gateway: which gateway's series (default: the client's).
            page_size: points per request, at most the node's ``max_scan_points``.
            frame: DataFrame (``True``) or :class:`Points` (``False``); default: the client's.
            epoch_ms: timestamps as ``int64`` epoch milliseconds instead of ``datetime64[ns]``.

        Returns:
            a DataFrame with a ``DatetimeIndex`` named ``ts`` and a ``float64`` column ``value``,
            or :class:`Points`.
        """
        params: Dict[str, Any] = {
            "gateway": self._gateway(gateway),
            "series": series,
            "from": None if start is None else time_ms(start),
            "to": None if end is None else time_ms(end),
            "limit": page_size,
            "format": "csv",
        }
        ts_pages, value_pages = [], []
        while True:
            body, headers = self._request("/v1/scan", params)
            ts, values = parse_points_csv(body)
            ts_pages.append(ts)
            value_pages.append(values)
            following = headers.get("x-alicedb-next")
            if following is None:
                break
            params["from"] = int(following)
        ts = ts_pages[0] if len(ts_pages) == 1 else np.concatenate(ts_pages)
        values = value_pages[0] if len(value_pages) == 1 else np.concatenate(value_pages)
        return self._points(ts, values, "value", frame, epoch_ms)

    def _points(self, ts: np.ndarray, values: np.ndarray, column: str, frame: Optional[bool], raw: bool):
        times = ts if raw else _datetimes(ts)
        if not self._frames(frame):
            return Points(times, values)
        index = _pd.Index(times, name="ts") if raw else _pd.DatetimeIndex(times, name="ts")
        return _pd.DataFrame({column: values}, index=index)

    def get(self, series: str, at: TimeLike, *, gateway: Optional[str] = None) -> Optional[float]:
        """The value stored at exactly ``at``, or ``None`` when there is no sample there."""
        try:
            doc = self._json("/v1/get", {"gateway": self._gateway(gateway), "series": series, "at": time_ms(at)})
        except AliceDBError as e:
            if e.status == 404 and e.code == "no_sample":
                return None
            raise
        return _json_float(doc["value"])

    def aggregate(
        self,
        series: str,
        start: Optional[TimeLike] = None,
        end: Optional[TimeLike] = None,
        *,
        gateway: Optional[str] = None,
    ) -> Aggregate:
        """Count, sum, average, minimum and maximum of a series in ``[start, end]`` (default: all),
        exact from segment summaries where whole segments are covered."""
        doc = self._json(
            "/v1/aggregate",
            {
                "gateway": self._gateway(gateway),
                "series": series,
                "from": None if start is None else time_ms(start),
                "to": None if end is None else time_ms(end),
            },
        )
        return Aggregate(
            count=int(doc["count"]),
            sum=_json_float(doc["sum"]),
            avg=_json_float(doc["avg"]),
            min=_json_float(doc["min"]),
            max=_json_float(doc["max"]),
        )

    def downsample(
        self,
        series: str,
        interval: DurationLike,
        fn: str = "avg",
        start: Optional[TimeLike] = None,
        end: Optional[TimeLike] = None,
        *,
        gateway: Optional[str] = None,
        frame: Optional[bool] = None,
        epoch_ms: bool = False,
    ):
        """One value per ``interval`` (``fn``: ``count``, ``sum``, ``avg``, ``min`` or ``max``);
        buckets start at ``start`` (default: the series' first point), empty ones are left out.

        Returns:
            a DataFrame indexed by bucket start (``ts``) with one ``float64`` column named ``fn``,
            or :class:`Points`.

        Raises:
            BadRequestError: more buckets than the node's ``max_scan_points``.
        """
        if fn not in ("count", "sum", "avg", "min", "max"):
            raise ValueError(f"fn must be count, sum, avg, min or max, not {fn!r}")
        body, _ = self._request(
            "/v1/downsample",
            {
                "gateway": self._gateway(gateway),
                "series": series,
                "interval": duration_ms(interval),
                "fn": fn,
                "from": None if start is None else time_ms(start),
                "to": None if end is None else time_ms(end),
                "format": "csv",
            },
        )
        ts, values = parse_points_csv(body)
        return self._points(ts, values, fn, frame, epoch_ms)
