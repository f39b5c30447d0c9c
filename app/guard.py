"""Who may reach the server at all: the Host it is reached by, the page a request comes from, body size.

A web page on any site can make the browser open `ws://127.0.0.1:8000/ws` or POST to the API; the browser
then sends that page's `Origin`. A DNS-rebinding page reaches the server under its own name, which arrives
as `Host`. So every request (HTTP and websocket) must name this server in `Host`, and a request that
carries an `Origin` must come from this server's own page (or a page the owner allowed).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# Names that always mean this machine. Browsers resolve "localhost" themselves, so no page can rebind it.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def split_list(value: str | None) -> frozenset[str]:
    """A comma-separated setting as a set of lower-case entries."""
    return frozenset(part.strip().lower().rstrip("/") for part in (value or "").split(",") if part.strip())


def host_name(host: str) -> str:
    """The name part of a Host header ("[::1]:8000" -> "::1", "Example.org:80" -> "example.org")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_ip_literal(name: str) -> bool:
    """True for an IP address: a rebinding page can only reach the server under a DNS name."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: refuse unknown Host names, foreign Origins, and request bodies over the limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        server_host: str,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        max_body_bytes: int = 2 << 20,
        body_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.hosts = LOOPBACK_NAMES | {server_host.lower()} | set(allowed_hosts)
        self.origins = frozenset(allowed_origins)
        self.max_body = max_body_bytes
        self.body_limits = body_limits or {}  # paths that take larger bodies (audio uploads)

    def host_ok(self, host: str | None) -> bool:
        """Whether the Host header names this server (an IP address, a loopback name or an allowed one)."""
        if host is None:
            return True  # HTTP/1.0 without Host: no browser sends that
        name = host_name(host)
        return "*" in self.hosts or name in self.hosts or is_ip_literal(name)

    def origin_ok(self, origin: str, host: str | None) -> bool:
        """Whether a browser request comes from this server's own page or an allowed one."""
        origin = origin.strip().lower().rstrip("/")
        if "*" in self.origins or origin in self.origins:
            return True
        parts = urlsplit(origin)
        # Same origin: the page was loaded from the very host (and port) this request is sent to.
        return parts.scheme in ("http", "https") and host is not None and parts.netloc == host.strip().lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on (with its body counted, for HTTP)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host, origin = headers.get("host"), headers.get("origin")
        problem = None
        if not self.host_ok(host):
            problem = (
                f"this server is not reached by the name {host_name(host or '')!r}; if that is right, "
                "add it with --allowed-hosts (SAMANTHA_ALLOWED_HOSTS)"
            )
        elif origin is not None and not self.origin_ok(origin, host):
            problem = (
                f"requests from pages at {origin} are refused; to embed Samantha in that page, "
                "add it with --allowed-origins (SAMANTHA_ALLOWED_ORIGINS)"
            )
        if problem is not None:
            log.warning("refused %s %s: %s", scope["type"], scope.get("path"), problem)
            if scope["type"] == "websocket":
                # Closing before accepting makes the server answer the upgrade with HTTP 403.
                await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
            else:
                await _reply(send, scope, 403, problem, "forbidden")
            return
        if scope["type"] == "http":
            await self._limited(scope, receive, send, headers)
        else:
            await self.app(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        """Pass the request on, refusing a body over the limit (declared, or counted as it arrives)."""
        limit = self.body_limits.get(scope.get("path", ""), self.max_body)
        setting = "--max-audio-bytes" if limit != self.max_body else "--max-request-bytes"
        too_big = (
            f"the request body is larger than {limit} bytes; "
            f"raise {setting} (SAMANTHA_{setting[2:].upper().replace('-', '_')}) if it is meant to be"
        )
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reply(send, scope, 413, too_big, "request_too_large")
            return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    # Answered here, and to the app the client is gone: FastAPI would turn an exception
                    # raised while it reads the body into a 400 of its own.
                    refused = True
                    if not started:
                        await _reply(send, scope, 413, too_big, "request_too_large")
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 was the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, tracked_send)


async def _reply(send: Send, scope: Scope, status: int, message: str, code: str) -> None:
    """A JSON error: OpenAI's shape under /v1 (its clients show `error.message`), else {"detail": ...}."""
    if str(scope.get("path", "")).startswith("/v1"):
        payload: dict[str, object] = {
            "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        }
    else:
        payload = {"detail": message}
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
