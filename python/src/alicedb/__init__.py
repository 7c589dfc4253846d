"""Python client for ALICE-DB's read API, on a cloud node (``alicedb-cloud``) or a gateway agent
(``alicedb-agent`` with ``[http] query = true``).

    >>> from alicedb import Client
    >>> db = Client("http://127.0.0.1:8470", token="dev-reader", gateway="gateway-1")
    >>> df = db.scan("sensors/boiler/temp", start="2026-12-01", end="2026-12-02")

Results are pandas DataFrames when pandas is installed (``datetime64[ns]`` timestamps, ``float64``
values, NaN kept), numpy arrays otherwise; refusals raise :class:`AliceDBError` subclasses that
carry the node's status, code and message.
"""

from .client import Aggregate, Client, Gateway, Points, SeriesStats, duration_ms, parse_points_csv, time_ms
from .errors import AliceDBError, AuthError, BadRequestError, NotFoundError, ServerError, TransportError

__all__ = [
    "Aggregate",
    "AliceDBError",
    "AuthError",
    "BadRequestError",
    "Client",
    "Gateway",
    "NotFoundError",
    "Points",
    "SeriesStats",
    "ServerError",
    "TransportError",
    "duration_ms",
    "parse_points_csv",
    "time_ms",
]
__version__ = "0.2.0"
