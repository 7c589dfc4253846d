"""Exceptions raised by :class:`alicedb.Client`."""

from __future__ import annotations

from typing import Optional


class AliceDBError(Exception):
    """A request the node refused or could not answer.

    Attributes:
        status: the HTTP status (``None`` when no answer came: see :class:`TransportError`).
        code: the node's machine-readable code (``not_found``, ``unknown_token``, ``bad_request``,
            ``bad_data``, …), or ``None``.
        message: the node's message, as it wrote it.
        url: the request's URL (without the token, which travels in a header).
    """

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None, url: str = ""):
        self.status = status
        self.code = code
        self.message = message
        self.url = url
        where = f" ({url})" if url else ""
        prefix = f"{status} {code}: " if status is not None and code else (f"{status}: " if status is not None else "")
        super().__init__(f"{prefix}{message}{where}")


class BadRequestError(AliceDBError):
    """400 or 422: a parameter the node refuses (a bad time, interval, function or query)."""


class AuthError(AliceDBError):
    """401 or 403: no token, an unknown token, or a token that may not read that gateway."""


class NotFoundError(AliceDBError):
    """404: no such gateway, series or sample, or a node without the read API."""


class ServerError(AliceDBError):
    """5xx: the node failed, or its storage is unavailable for now (503)."""


class TransportError(AliceDBError):
    """No HTTP answer: the node could not be reached, or the connection broke."""


def error_for(status: int, message: str, code: Optional[str], url: str) -> AliceDBError:
    """The exception class for an HTTP status."""
    cls: type = AliceDBError
    if status in (400, 422):
        cls = BadRequestError
    elif status in (401, 403):
        cls = AuthError
    elif status == 404:
        cls = NotFoundError
    elif status >= 500:
        cls = ServerError
    return cls(message, status=status, code=code, url=url)
