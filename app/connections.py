"""Connections before any request: a header deadline and a cap per client address.

uvicorn reads request headers for as long as a client cares to send them, and counts a socket that sent
half a header like any other: a thousand such sockets held every file descriptor and stopped all service.
Here each request gets `header_timeout` seconds to finish its headers (the first on a new connection, and
each next one on a kept-alive connection), and one address may hold
`per_address` connections; when it is at its cap, the oldest connection still sending headers makes room
(a client that finished its headers is never pushed out by one that has not), and only when none is
pending is the newcomer refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

log = logging.getLogger(__name__)
HEADERS_END = b"\r\n\r\n"


@dataclass(eq=False)
class Opened:
    """One accepted connection: its transport and whether its first request's headers are complete."""

    transport: asyncio.BaseTransport
    headers_done: bool = False
    tail: bytes = b""  # the last bytes seen, so a header end split across reads is still found
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def received(self, data: bytes) -> None:
        """Note bytes read; the first blank line ends the headers."""
        if self.headers_done:
            return
        seen = self.tail + data
        if HEADERS_END in seen:
            self.headers_done = True
            if self.timer is not None:
                self.timer.cancel()
        self.tail = seen[-3:]

    def restart(self, timeout: float) -> None:
        """A kept-alive connection starts its next request: its headers get a deadline of their own."""
        if self.timer is not None:
            self.timer.cancel()
        self.headers_done, self.tail = False, b""
        self.timer = asyncio.get_running_loop().call_later(timeout, self.expire)

    def expire(self) -> None:
        """The header deadline passed: close unless the headers arrived."""
        if not self.headers_done and not self.transport.is_closing():
            log.info("closing a connection that did not finish its request headers in time")
            self.transport.close()


class ConnectionLimits:
    """The connections of one server, by client address."""

    def __init__(self, *, per_address: int, header_timeout: float) -> None:
        self.per_address = per_address
        self.header_timeout = header_timeout
        self._open: dict[str, list[Opened]] = defaultdict(list)
        self._refused = 0

    def admit(self, transport: asyncio.BaseTransport) -> Opened | None:
        """Take a new connection on (None: it was refused and closed)."""
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        held = self._open[address] = [o for o in self._open[address] if not o.transport.is_closing()]
        if len(held) >= self.per_address:
            pending = next((o for o in held if not o.headers_done), None)
            if pending is None:
                self._refused += 1
                if self._refused in (1, 10, 100) or self._refused % 1000 == 0:
                    log.warning(
                        "%s holds %d connections; refused %d so far", address, len(held), self._refused
                    )
                transport.close()
                return None
            pending.transport.close()  # the oldest one still dawdling over its headers makes room
            held.remove(pending)
        opened = Opened(transport)
        opened.timer = asyncio.get_running_loop().call_later(self.header_timeout, opened.expire)
        held.append(opened)
        return opened

    def held(self, address: str) -> int:
        """Connections an address holds open now."""
        return sum(1 for o in self._open.get(address, ()) if not o.transport.is_closing())


def limited_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, admitting each connection through `limits` and watching its headers."""

    class LimitedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        _opened: Opened | None = None

        def connection_made(self, transport: Any) -> None:
            self._opened = limits.admit(transport)
            if self._opened is None:
                self.transport = transport  # uvicorn's connection_lost expects one
                return
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if self._opened is None:
                return
            cycle = getattr(self, "cycle", None)  # uvicorn's request/response in progress, if any
            if self._opened.headers_done and (cycle is None or cycle.response_complete):
                self._opened.restart(limits.header_timeout)  # uvicorn stops its keep-alive timer here
            self._opened.received(data)
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._opened is None:
                return
            if self._opened.timer is not None:
                self._opened.timer.cancel()
            super().connection_lost(exc)

    return LimitedHTTPProtocol
