"""One turn of a session in a task of its own, for every door: the chat socket and the HTTP APIs.

The client that asked may leave at any moment (a closed socket, a dropped HTTP stream). The turn then
stops once, at its next delta, and the session keeps what was said so far, marked interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing

from app.protocol import Delta, Done, ErrorFrame, ServerFrame

log = logging.getLogger(__name__)

Deliver = Callable[[ServerFrame], Awaitable[None]]
INTERNAL = "Something went wrong on my side; please try again."


class TurnRunner:
    """Runs `frames` (a session's `respond`) in a task, handing each frame to `deliver`.

    Without `deliver` the frames wait in a queue for `next()` (the HTTP doors read them as they stream).
    If the session fails, or ends without a done or error frame, the client is told with an error frame;
    if delivering fails (the client left), the turn stops.
    """

    def __init__(self, frames: AsyncGenerator[ServerFrame, None], deliver: Deliver | None = None) -> None:
        self._queue: asyncio.Queue[ServerFrame] = asyncio.Queue()
        self._deliver = deliver or self._enqueue
        self._task = asyncio.create_task(self._run(frames))
        self._stopped = False

    async def _enqueue(self, frame: ServerFrame) -> None:
        self._queue.put_nowait(frame)

    async def _run(self, frames: AsyncGenerator[ServerFrame, None]) -> None:
        ended = False  # a done or error frame reached the client
        try:
            async with aclosing(frames):
                async for frame in frames:
                    try:
                        await self._deliver(frame)
                    except Exception as exc:  # the client left: the session keeps what was said
                        log.info("the client left during a turn: %r", exc)
                        return
                    ended = isinstance(frame, Done | ErrorFrame)
        except Exception as exc:  # the session itself failed
            log.error("turn failed: %r", exc)
        if not ended:
            try:
                await self._deliver(ErrorFrame(code="internal", message=INTERNAL))
            except Exception as exc:  # the client is gone: nobody left to tell
                log.info("could not report a failed turn: %r", exc)

    def running(self) -> bool:
        """Whether the turn is still going."""
        return not self._task.done()

    async def next(self) -> Delta | Done | ErrorFrame:
        """The next frame of the reply (recalled memories are not part of an HTTP answer)."""
        while True:
            frame = await self._queue.get()
            if isinstance(frame, Delta | Done | ErrorFrame):
                return frame

    async def close(self) -> None:
        """Stop the turn if it still runs, once, and wait until it has (what was said is kept)."""
        if not self._stopped:
            self._stopped = True
            self._task.cancel()
        await asyncio.wait({self._task})
