"""ChatSession.respond: the turn pipeline, the only place that knows both memory and the backend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.backends.base import Backend, BackendError
from app.learning import Learner, learn
from app.presence import good_night_note, mood_for_turn, mood_line, mood_out
from app.protocol import Delta, Done, ErrorFrame, Recalled, RecalledMemory, ServerFrame
from memory.models import Recalled as RecalledMemoryValue
from memory.models import Turn
from memory.mood import Mood
from memory.store_base import MemoryEngine
from persona.guard import ReplyGuard
from persona.messages import GenParams, Message
from persona.persona import Persona
from persona.prompt import PromptMemory, PromptTurn, build_messages
from persona.timesense import LastTalk, time_note

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnConfig:
    """The per-turn knobs taken from Settings."""

    recall_k: int = 5
    history_turns: int = 6
    context_tokens: int = 2048
    params: GenParams = field(default_factory=GenParams)
    model_facts: bool = False  # ask the model for facts as JSON (capable remote models only)
    max_words: int = 80  # a reply ends at the first sentence end past this many words
    quiet_hours: tuple[int, int] | None = (22, 8)  # None: she never messages first on this server


def grown_text(grown: Sequence[str], extra_system: str | None) -> str | None:
    """Her kept self-model after the fixed persona (then a client's own system text, if any)."""
    if not grown:
        return extra_system
    lines = "\n".join(f"- {g}" for g in grown)
    mine = f"Who you have become with them (they kept it; your values and boundaries never change):\n{lines}"
    return f"{mine}\n\n{extra_system}" if extra_system else mine


def recalled_frame(recalled: Sequence[RecalledMemoryValue], mood: Mood | None = None) -> Recalled:
    """The `recalled` frame: each memory with its score and the parts of it, and her mood."""
    return Recalled(memories=[RecalledMemory.of(r) for r in recalled], mood=mood_out(mood))


class ChatSession:
    """One conversation of one user: respond to each message with a stream of frames."""

    def __init__(
        self,
        *,
        user: str,
        conversation: str,
        store: MemoryEngine,
        backend: Backend,
        persona: Persona,
        learner: Learner,
        config: TurnConfig,
    ) -> None:
        self.user = user
        self.conversation = conversation
        self.store = store
        self.backend = backend
        self.persona = persona
        self.learner = learner
        self.config = config
        self._cancel = False
        # The task waiting for the backend's next delta, while it waits (see _stream), and whether
        # cancel() has interrupted that wait.
        self._waiting: asyncio.Task[Any] | None = None
        self._interrupted = False
        # The conversation before this one (read once, at hello: app/presence.py), for the time note.
        self.last_talk: LastTalk | None = None
        # Who she has become with this person (kept changes of her self-model), read once at hello.
        self.grown: list[str] = []

    def cancel(self) -> None:
        """Stop the reply in progress at its next delta (it is kept, marked interrupted)."""
        self._cancel = True
        if self._waiting is not None and not self._interrupted:
            # Waiting for the backend: interrupt the wait itself, so a slow model stops at once.
            self._interrupted = True
            self._waiting.cancel()

    async def respond(
        self,
        text: str,
        *,
        history: Sequence[PromptTurn] | None = None,
        extra_system: str | None = None,
        store: bool = True,
    ) -> AsyncGenerator[ServerFrame, None]:
        """Store the message, recall, prompt, stream the reply, store it, then learn in the background."""
        # An API client may bring its own `history` (used instead of the stored conversation) and its
        # own system message (`extra_system`, added after the persona). `store=False` is a request that is
        # not the person talking (a client's chore, or an explicit opt-out): answered, but nothing is
        # logged or learned, so it cannot come back later as something they said.
        self._cancel = False
        started = time.perf_counter()
        said = (
            await self.store.log_turn(self.user, self.conversation, "user", text) if store else None
        )  # before anything can fail
        said_id = said.id if said else None
        feeling: asyncio.Task[Mood | None] | None = None
        try:
            await self.learner.settle(self.user)
            # Her mood is read beside recall (a row, in a reader thread of its own): no time added.
            feeling = asyncio.create_task(mood_for_turn(self.store, self.user, text))
            if history is None:  # the stored conversation, read in the same trip to the store
                recalled, stored = await self.store.recall_with_history(
                    self.user,
                    self.conversation,
                    text,
                    k=self.config.recall_k,
                    history=self.config.history_turns + 1,
                )
            else:
                recalled, stored = await self.store.recall(self.user, text, k=self.config.recall_k), []
        except Exception as exc:  # memory trouble must not lose the message or kill the socket
            log.error("recall failed for %s: %r", self.user, exc)
            if feeling is not None:
                feeling.cancel()
            if said:
                self.learner.spawn(self.user, self._learn(said, None))
            yield ErrorFrame(
                code="memory_error", message="I couldn't reach my memory just now.", user_turn_id=said_id
            )
            return
        mood = await self._mood(feeling)
        arranged = await good_night_note(self.store, self.user, text, self.config.quiet_hours)
        recall_ms = (time.perf_counter() - started) * 1000
        yield recalled_frame(recalled, mood)

        if history is None:
            history = [PromptTurn(t.role, t.text) for t in stored if t.id != said_id]
        today = date.fromisoformat(said.created_at[:10]) if said else self.store.clock.now().date()
        # In a thread: a model's own tokenizer over a long prompt would hold the event loop.
        messages = await asyncio.to_thread(
            build_messages,
            self.persona,
            [PromptMemory(r.memory.text, r.memory.kind) for r in recalled],
            history,
            text,
            budget=self.config.context_tokens - self.config.params.max_tokens,
            today=today.isoformat(),
            count_tokens=self.backend.count_tokens,
            extra_system=grown_text(self.grown, extra_system),
            time_line=" ".join(filter(None, [self._time_line(mood), arranged])),
        )
        parts: list[str] = []
        first_token_ms: float | None = None
        failure: BackendError | None = None
        guard = self._guard(messages, today) if self.backend.speaks else None
        generated = 0
        try:
            async with contextlib.aclosing(self._stream(messages)) as stream:
                async for delta in stream:
                    generated += 1
                    shown = guard.feed(delta) if guard else delta
                    if shown:
                        if first_token_ms is None:
                            first_token_ms = (time.perf_counter() - started) * 1000
                        parts.append(shown)
                        yield Delta(text=shown)
                    if guard and guard.stopped:
                        break  # closing the stream stops generation
        except BackendError as exc:
            failure = exc
        except (asyncio.CancelledError, GeneratorExit):
            # The client went away mid-reply: keep what was said, marked interrupted.
            await self._finish(said, parts, interrupted=True)
            raise

        if guard and not self._cancel:  # the last clause, held back until the stream ended
            cut_off = failure is None and generated >= self.config.params.max_tokens
            if tail := guard.finish(cut_off=cut_off):
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                parts.append(tail)
                yield Delta(text=tail)
        reply = await self._finish(said, parts, interrupted=failure is not None or self._cancel)
        if failure is not None:
            log.warning("backend %s failed: %s", self.backend.name, failure)
            yield ErrorFrame(code=failure.code, message=str(failure), user_turn_id=said_id)
            return
        timings = {
            "recall_ms": round(recall_ms, 1),
            "total_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if first_token_ms is not None:
            timings["first_token_ms"] = round(first_token_ms, 1)
        yield Done(
            text="".join(parts),
            turn_id=reply.id if reply else 0,
            user_turn_id=said_id or 0,
            interrupted=self._cancel,
            timings=timings,
        )

    async def _mood(self, feeling: asyncio.Task[Mood | None] | None) -> Mood | None:
        try:
            return await feeling if feeling is not None else None
        except Exception as exc:  # a mood not read is no reason to fail a turn
            log.warning("could not read her mood for %s: %r", self.user, exc)
            return None

    def _time_line(self, mood: Mood | None) -> str:
        """The first line of her notes: the day, the part of day, the silence before, and her mood."""
        now = self.store.clock.now()
        line = time_note(now, self.last_talk)
        return f"{line} {mood_line(mood, now)}" if mood else line

    def _guard(self, messages: list[Message], today: date) -> ReplyGuard:
        """The rules for this reply; what she may state about the person is what reached the prompt."""
        # Her notes, the client's own system text and what the person said; not the persona's examples
        # (they are not about this person), nor her own earlier replies.
        persona = self.persona.system_text()
        told = [m["content"] for m in messages[1:] if m["role"] != "assistant"]
        evidence = "\n".join([messages[0]["content"].replace(persona, "", 1), *told])
        asked = messages[-1]["content"] if messages[-1]["role"] == "user" else ""
        return ReplyGuard(evidence=evidence, asked=asked, max_words=self.config.max_words, today=today)

    async def _stream(self, messages: list[Message]) -> AsyncGenerator[str, None]:
        """The backend's deltas until it ends or the turn is cancelled (then generation stops too)."""
        # The backend is awaited in the turn's own task: racing each delta against the cancel flag in two
        # tasks of their own took a third of the event loop's CPU in a turn (bench/RESULTS.md, load
        # profile). cancel() interrupts the wait instead, and only that cancellation is absorbed here.
        agen = self.backend.generate(messages, self.config.params)
        task = asyncio.current_task()
        try:
            while not self._cancel:
                self._waiting = task
                try:
                    delta = await agen.__anext__()
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if self._absorb_interrupt(task):
                        return  # the person cancelled: the reply so far is kept
                    raise  # the client left or the server stops
                finally:
                    self._waiting = None
                    self._absorb_interrupt(task)
                yield delta
        finally:
            await agen.aclose()

    def _absorb_interrupt(self, task: asyncio.Task[Any] | None) -> bool:
        """Take back cancel()'s cancellation of the waiting task; True if nobody else cancelled it."""
        if not self._interrupted or task is None:
            return False
        self._interrupted = False
        return task.uncancel() == 0

    async def _finish(self, said: Turn | None, parts: list[str], *, interrupted: bool) -> Turn | None:
        """Log her reply (even a partial one), then learn from the exchange in the background."""
        if said is None:  # not the person talking: nothing to keep
            return None
        reply_text = "".join(parts)
        reply = None
        if reply_text or not interrupted:
            status = "interrupted" if interrupted else "complete"
            reply = await asyncio.shield(
                self.store.log_turn(self.user, self.conversation, "assistant", reply_text, status=status)
            )
        # Her whole replies are remembered too ("what was that recipe you gave me?"); a cut-off one is not.
        kept = reply if reply is not None and not interrupted and reply.text.strip() else None
        self.learner.spawn(self.user, self._learn(said, kept))
        return reply

    async def _learn(self, said: Turn, reply: Turn | None) -> None:
        await learn(self.store, self.backend, self.config.model_facts, said, reply)
