"""The demo's HTTP answers: :class:`Response` (what :meth:`DemoApp.handle` returns) and :class:`HttpError` (a refusal)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Tuple


class Response(NamedTuple):
    """One HTTP answer: status code, content type, body bytes and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: Tuple[Tuple[str, str], ...] = ()

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class HttpError(Exception):
    """A request the server refuses (status + one-line message); MotionmapError is the 400 case."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, "application/json", json.dumps(obj).encode("utf-8"), (("Cache-Control", "no-store"),))


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message}, status)

