"""Who gets in at all: foreign web pages, rebound DNS names, revoked tokens, never-ending sockets."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.config import Settings
from memory.accounts import AccountStore
from memory.embedder import Embedder
from tests.process import run_cli

EVIL = "http://evil.example"


async def tell_a_secret(server: Any) -> None:
    chat = await server.chat()
    await chat.turn("My password for the bank is tangerine-42.")
    await chat.ws.close()


async def test_a_page_on_another_site_can_neither_chat_nor_read_memories(make_server: Any) -> None:
    server = await make_server()
    await tell_a_secret(server)
    with pytest.raises(InvalidStatus) as refused:
        await connect(server.running.ws_url, origin=EVIL)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    for origin in ("null", f"http://127.0.0.1:{server.running.port + 1}"):  # a sandboxed page; another port
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": origin}) as page:
            assert (await page.get("/api/memories")).status_code == 403
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": EVIL}) as page:
        for response in (
            await page.get("/api/export"),
            await page.get("/api/memories"),
            await page.delete("/api/memories/1"),
            await page.post("/v1/chat/completions", json={"model": "samantha", "messages": []}),
        ):
            assert response.status_code == 403 and "tangerine" not in response.text
        assert "--allowed-origins" in (await page.get("/api/export")).json()["detail"]
    # Her own page (same origin) and clients that send no Origin (curl, SDKs) go on working.
    own = server.url
    async with connect(server.running.ws_url, origin=own) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "hello"}))
        assert json.loads(await ws.recv())["type"] == "ready"
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": own}) as page:
        assert "tangerine" in (await page.get("/api/export")).text
    async with httpx.AsyncClient(base_url=server.url) as curl:
        assert (await curl.get("/api/export")).status_code == 200


async def test_a_page_the_owner_allows_gets_in(make_server: Any) -> None:
    server = await make_server(allowed_origins="http://notes.example:3000, https://me.example")
    async with httpx.AsyncClient(base_url=server.url) as page:
        for origin in ("http://notes.example:3000", "https://me.example"):
            assert (await page.get("/api/memories", headers={"Origin": origin})).status_code == 200
        assert (await page.get("/api/memories", headers={"Origin": EVIL})).status_code == 403


async def test_dns_rebinding_names_are_refused(make_server: Any) -> None:
    server = await make_server()
    await tell_a_secret(server)
    port = server.running.port
    async with httpx.AsyncClient(base_url=server.url) as http:
        rebound = await http.get("/api/export", headers={"Host": f"evil.example:{port}"})
        assert rebound.status_code == 403 and "tangerine" not in rebound.text
        assert "--allowed-hosts" in rebound.json()["detail"]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "127.0.0.1"):
            assert (await http.get("/api/export", headers={"Host": host})).status_code == 200
    assert await upgrade_status(port, "evil.example") == 403
    assert await upgrade_status(port, f"127.0.0.1:{port}") == 101

    named = await make_server(allowed_hosts="samantha.lan")
    async with httpx.AsyncClient(base_url=named.url) as http:
        assert (await http.get("/api/memories", headers={"Host": "samantha.lan:8000"})).status_code == 200


async def upgrade_status(port: int, host: str) -> int:
    """The HTTP status a websocket upgrade to /ws gets when it names the server `host`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    status = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return int(status.split()[1])


async def make_user(settings: Settings, embedder: Embedder, name: str) -> str:
    accounts = await AccountStore.open(settings.data_dir)
    token = await accounts.add(name)
    await accounts.aclose()
    return token


async def test_revoking_the_last_account_does_not_open_the_doors(
    settings: Settings, embedder: Embedder, make_server: Any
) -> None:
    token = await make_user(settings, embedder, "alice")
    server = await make_server()
    assert run_cli("user", "--data-dir", str(settings.data_dir), "revoke", "alice").returncode == 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/export")).status_code == 401
        revoked = await http.get("/api/export", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401
    chat = await server.chat("no-hello")
    await chat.send({"type": "hello", "token": None})
    with pytest.raises(ConnectionClosed) as closed:
        await chat.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # Deleting every account does not bring token-free mode back either.
    assert run_cli("user", "--data-dir", str(settings.data_dir), "delete", "alice", "--yes").returncode == 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/memories")).status_code == 401


async def test_revoking_a_token_reaches_a_socket_opened_before(
    settings: Settings, embedder: Embedder, make_server: Any
) -> None:
    token = await make_user(settings, embedder, "alice")
    server = await make_server()
    chat = await server.chat("no-hello")
    await chat.send({"type": "hello", "token": token})
    assert (await chat.recv())["type"] == "ready"
    assert (await chat.turn("My bank PIN is 4321."))[-1]["type"] == "done"
    # Revoked by another process on the same data dir while the socket stays open.
    assert run_cli("user", "--data-dir", str(settings.data_dir), "revoke", "alice").returncode == 0
    await chat.send({"type": "user", "text": "What is my PIN?"})
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frame = await chat.recv()
            assert "4321" not in json.dumps(frame)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "revoked" in closed.value.rcvd.reason


async def test_a_socket_that_never_says_hello_is_closed(make_server: Any) -> None:
    server = await make_server(hello_timeout=0.5)
    chat = await server.chat("no-hello")
    assert (await asyncio.wait_for(chat.recv(), 30))["code"] == "hello_timeout"
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(chat.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_one_user_holds_a_bounded_number_of_sockets(make_server: Any) -> None:
    server = await make_server(max_sockets_per_user=2)
    first, second = await server.chat(), await server.chat()
    third = await server.chat("no-hello")
    await third.send({"type": "hello"})
    assert (await third.recv())["code"] == "too_many_sockets"
    with pytest.raises(ConnectionClosed):
        await third.recv()
    await first.ws.close()
    await asyncio.sleep(0.2)  # the server notices the close
    fourth = await server.chat()  # a freed place can be taken again
    assert (await fourth.turn("hello"))[-1]["type"] == "done"
    assert (await second.turn("still here"))[-1]["type"] == "done"


# Another process holds the slow sockets, as an attacker would: this one (the server's) keeps its own
# file descriptors for the server's side of them.
SLOW_CLIENT = """
import socket, sys
held = []
for _ in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /health HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nX-Slow: ")
    held.append(s)
print("held", len(held), flush=True)
sys.stdin.read()
"""


async def test_slow_sockets_cannot_starve_a_real_client(make_server: Any) -> None:
    """A thousand sockets that never finish their headers, against a server allowed 1,024 open files
    (a common default, and where the hostile review saw all service stop); she still answers."""
    server = await make_server()  # the default cap: 256 connections per address
    slow = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SLOW_CLIENT,
        str(server.running.port),
        "1000",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        assert slow.stdout is not None
        assert (await asyncio.wait_for(slow.stdout.readline(), 120)).split() == [b"held", b"1000"]
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            assert (await http.get("/health")).status_code == 200
        chat = await asyncio.wait_for(server.chat(), 30)
        assert (await asyncio.wait_for(chat.turn("Are you still there?"), 30))[-1]["type"] == "done"
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        slow.kill()
        await slow.wait()


async def open_slow_sockets(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Connections that send half a request header and then nothing."""
    held = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append((reader, writer))
    await asyncio.gather(*(w.drain() for _, w in held))
    return held


async def test_at_the_cap_the_oldest_half_open_connection_makes_room(make_server: Any) -> None:
    server = await make_server(max_connections_per_address=20)
    held = await open_slow_sockets(server.running.port, 30)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            assert (await http.get("/health")).status_code == 200
        closed = [await asyncio.wait_for(r.read(1), 30) == b"" for r, _ in held[:10]]
        assert all(closed)  # the oldest ten went; the newest still wait for their deadline
    finally:
        for _, writer in held:
            writer.close()


async def test_a_connection_that_never_finishes_its_headers_is_closed(make_server: Any) -> None:
    server = await make_server(header_timeout=0.5)
    ((reader, writer),) = await open_slow_sockets(server.running.port, 1)
    assert await asyncio.wait_for(reader.read(), 30) == b""  # closed by the server, nothing answered
    writer.close()


async def test_a_kept_alive_connection_gets_a_header_deadline_for_each_request(make_server: Any) -> None:
    server = await make_server(header_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.running.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert (await asyncio.wait_for(reader.readline(), 30)).startswith(b"HTTP/1.1 200")
    await asyncio.sleep(1.0)  # idle past the header deadline, inside uvicorn's keep-alive (5 s): still open
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # then half a second request
    rest = await asyncio.wait_for(reader.read(), 30)
    assert b"HTTP/1.1 200" not in rest.split(b"\r\n\r\n", 1)[-1]  # closed, never answered
    writer.close()
