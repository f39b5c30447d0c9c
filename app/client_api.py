"""How `samantha chat` reaches the JSON endpoints beside the chat socket (/memories, /forget, /talk)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from persona.errors import SamanthaError


class ApiError(SamanthaError):
    """A memory endpoint failed; the message says how, in words for the user."""


class MemoryAPI:
    """The JSON endpoints for memories, beside the chat socket (ws://host/ws -> http://host)."""

    def __init__(self, ws_url: str, token: str | None) -> None:
        self.base = http_base(ws_url)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def memories(self, words: str, limit: int) -> list[dict[str, Any]]:
        """What she remembers, newest first (only memories containing `words`, if any)."""
        params: dict[str, str | int] = {"limit": limit}
        if words:
            params["q"] = words
        found: list[dict[str, Any]] = self._call("GET", "/api/memories", params)
        return found

    def forget(self, memory_id: int) -> int:
        """Forget one memory; how many went with it (it and what was learned from it)."""
        try:
            body = self._call("DELETE", f"/api/memories/{memory_id}")
        except ApiError as exc:
            if exc.args[1:] == (404,):
                raise ApiError(f"No memory #{memory_id}: nothing forgotten (/memories lists them).") from exc
            raise
        return int(body["forgotten"])

    def voice(self) -> dict[str, Any]:
        """What the server can do with speech: `voice` (or null), `voices`, `listen`."""
        try:
            status: dict[str, Any] = self._call("GET", "/api/voice")
        except ApiError as exc:
            if exc.args[1:] == (404,):  # a server from before her voice
                raise ApiError("! this server has no voice or ears (it predates them)", 404) from exc
            raise
        return status

    def _call(self, method: str, path: str, params: dict[str, str | int] | None = None) -> Any:
        """The JSON body of a successful call; ApiError(message, status) otherwise."""
        import httpx  # only when asked: it is not needed to chat

        try:
            with httpx.Client(base_url=self.base, headers=self.headers, timeout=10) as http:
                response = http.request(method, path, params=params)
                body = response.json() if response.content else None
        except httpx.HTTPError as exc:
            raise ApiError(f"! cannot reach {self.base}: {str(exc) or type(exc).__name__}", 0) from exc
        except ValueError as exc:
            raise ApiError(f"! {self.base}{path} answered {response.status_code}, not JSON", 0) from exc
        if response.is_error:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ApiError(f"! the server said {response.status_code}: {detail}", response.status_code)
        return body


def http_base(ws_url: str) -> str:
    """The http(s) base URL of the server whose chat socket is `ws_url`."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/").removesuffix("/ws")
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))
