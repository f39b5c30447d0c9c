"""Voice on one chat socket: her replies read aloud as they stream, and recorded speech transcribed."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocketDisconnect

from app.protocol import AudioChunk, AudioEnd, Delta, Done, ErrorFrame, Heard, VoiceSettings, VoiceState
from app.voice.audio import AudioError, wav_bytes
from app.voice.service import Voice
from app.voice.text import SentenceSplitter

log = logging.getLogger(__name__)

# A recorded utterance over a websocket: push-to-talk or one phrase of a call, never a lecture.
MAX_UTTERANCE_SECONDS = 120.0
# Her first words may be a clause of at least this many characters (bench/RESULTS.md, voice: first audio).
FIRST_CLAUSE_CHARS = 24

Send = Callable[[Any], Awaitable[None]]
Spawn = Callable[[Awaitable[None]], "asyncio.Task[None]"]


class ReadAloud:
    """One reply read aloud while it streams: each sentence goes to her voice as soon as it is complete
    (the model is still writing the next one), and its audio is sent in order."""

    def __init__(self, voice: Voice, name: str | None, send: Send, spawn: Spawn) -> None:
        self.voice = voice
        self.name = name
        self.send = send
        self.splitter = SentenceSplitter(first_clause=FIRST_CLAUSE_CHARS)
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.interrupted = False
        self.task = spawn(self._speak())

    def feed(self, frame: object) -> None:
        """Follow the turn's frames: deltas bring sentences, `done` or `error` ends the reply."""
        match frame:
            case Delta():
                for sentence in self.splitter.push(frame.text):
                    self.queue.put_nowait(sentence)
            case Done():
                self.interrupted = frame.interrupted
                if not frame.interrupted:
                    for sentence in self.splitter.flush():
                        self.queue.put_nowait(sentence)
                self.queue.put_nowait(None)
            case ErrorFrame():
                self.interrupted = True
                self.queue.put_nowait(None)

    async def _speak(self) -> None:
        index = 0
        while (sentence := await self.queue.get()) is not None:
            if self.interrupted:
                break
            try:
                speech = await self.voice.say(sentence, voice=self.name)
            except AudioError as exc:
                if exc.code != "empty_text":  # a sentence of only symbols is simply not said
                    await self.send(ErrorFrame(code=exc.code, message=exc.message))
                    self.interrupted = True
                    break
                continue
            data = base64.b64encode(wav_bytes(speech)).decode("ascii")
            await self.send(
                AudioChunk(
                    index=index,
                    text=sentence,
                    sample_rate=speech.sample_rate,
                    seconds=round(speech.seconds, 3),
                    data=data,
                )
            )
            index += 1
        await self.send(AudioEnd(chunks=index, interrupted=self.interrupted))

    def stop(self) -> None:
        """Stop at once: nothing more is said (the person spoke, or pressed Stop)."""
        self.task.cancel()


class VoiceLink:
    """The voice side of one socket: its read-aloud choice, the reply being read, one transcription."""

    def __init__(self, voice: Voice | None, send: Send) -> None:
        self.voice = voice
        self.send = send
        self.read_aloud = False
        self.name: str | None = None
        self.reading: ReadAloud | None = None
        self.hearing: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def configure(self, frame: VoiceSettings) -> None:
        """Turn reading aloud on or off (and pick a voice); answer with the state."""
        if self.voice is None:
            await self.send(ErrorFrame(code="voice_off", message="this server has no voice"))
            return
        if frame.read_aloud:
            try:
                self.name = self.voice.pick(frame.voice)
            except AudioError as exc:
                await self.send(ErrorFrame(code=exc.code, message=exc.message))
                return
            # Load the voice now, while the person is still typing, not at the first sentence.
            self.spawn(self.voice.warm(voice=self.name, ears=self.voice.listen))
        self.read_aloud = frame.read_aloud and self.voice.voice is not None
        if not self.read_aloud:
            self.hush()
        status = self.voice.status()
        await self.send(
            VoiceState(
                read_aloud=self.read_aloud,
                voice=self.name or status["voice"],
                voices=status["voices"],
                listen=status["listen"],
            )
        )

    def begin_reply(self) -> None:
        """A turn starts: stop reading the last reply, and read this one if asked to."""
        self.hush()
        if self.read_aloud and self.voice is not None:
            self.reading = ReadAloud(self.voice, self.name, self.send, self.spawn)

    def feed(self, frame: object) -> None:
        """Pass a turn's frame to the reply being read aloud, if any."""
        if self.reading is not None:
            self.reading.feed(frame)

    def hush(self) -> None:
        """Stop reading aloud now (Stop, barge-in, a new message, the socket closing)."""
        if self.reading is not None:
            self.reading.stop()
            self.reading = None

    def heard(self, data: bytes) -> None:
        """Transcribe a recorded utterance in the background; the answer is a `transcript` frame."""
        if self.hearing is not None and not self.hearing.done():
            self.spawn(
                self.send(ErrorFrame(code="busy_listening", message="still transcribing your last recording"))
            )
            return
        self.hearing = self.spawn(self._transcribe(data))

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run in the background, kept referenced until done; a client that left is no error."""

        async def guarded() -> None:
            try:
                await work
            except (WebSocketDisconnect, RuntimeError) as exc:  # the socket closed under us
                log.info("voice work ended with the socket: %r", exc)

        task = asyncio.create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _transcribe(self, data: bytes) -> None:
        if self.voice is None:
            await self.send(ErrorFrame(code="listen_off", message="this server does not listen"))
            return
        started = time.perf_counter()
        try:
            heard = await self.voice.hear(data, max_seconds=MAX_UTTERANCE_SECONDS)
        except AudioError as exc:
            await self.send(ErrorFrame(code=exc.code, message=exc.message))
            return
        ms = round((time.perf_counter() - started) * 1000, 1)
        await self.send(Heard(text=heard.text, seconds=round(heard.seconds, 3), ms=ms))

    async def aclose(self) -> None:
        """The socket is closing: stop speaking and listening."""
        self.hush()
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
