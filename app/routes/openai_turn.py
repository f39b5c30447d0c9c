"""A chat request read as one turn: what the person said, what the client adds, and whether to keep it.

Shared by the OpenAI door (/v1) and the Ollama door (/api/chat, /api/generate): one reading of a request,
one turn pipeline (`ChatSession.respond`), whatever the client speaks.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.protocol import MAX_TEXT_CHARS, Delta, Done, ErrorFrame
from app.routes.openai_budget import fit_budget
from app.routes.openai_models import APIError, ChatMessage, ChatRequest, ErrorDetail
from app.services import Services
from app.session import ChatSession
from app.turn_runner import TurnRunner
from persona.messages import GenParams
from persona.prompt import PromptTurn

log = logging.getLogger(__name__)

# Requests that are not the person talking but a client doing chores with the chat model: Open WebUI's
# title, tags, follow-up, search-query and autocomplete prompts all quote the chat inside <chat_history>
# and start with "### Task:"; its tool picker sends "Available Tools: ..." with the chat as "Query: ...".
# Stored, each would come back later as something the person said.
_CHORES = (
    (re.compile(r"<chat_history>"), "it quotes the chat in <chat_history> (a client's background task)"),
    (re.compile(r"\A\s*### Task:"), 'it is a "### Task:" prompt (a client\'s background task)'),
    (re.compile(r"\A\s*Query: History:"), "it is a client's tool-picking prompt"),
)
_TOOL_PICKER = re.compile(r"\A\s*Available Tools:")
_NO = {"no", "false", "0", "off"}


@dataclass(frozen=True)
class ClientTurn:
    """One request, read: the person's words, the client's additions, and whether this is theirs to keep."""

    text: str  # the last `user` message: what the person said
    system: str  # the client's system text: its system messages, then what came after the person's message
    history: list[PromptTurn]  # the earlier user/assistant messages, as the client shows them
    store: bool  # the person talking: stored and learned from
    why_not_stored: str = ""


def bad_request(message: str, param: str = "messages") -> APIError:
    """A 400 about the request."""
    return APIError(400, ErrorDetail(message=message, param=param, code="invalid_request"))


def chore(messages: Sequence[ChatMessage], text: str) -> str:
    """Why this request is a client's chore rather than the person talking ("" when it is the person)."""
    for pattern, why in _CHORES:
        if pattern.search(text):
            return why
    if any(m.role == "system" and _TOOL_PICKER.match(m.text()) for m in messages):
        return "it is a client's tool-picking prompt"
    return ""


def read_turn(messages: Sequence[ChatMessage], *, opted_out: str = "") -> ClientTurn:
    """The last `user` message is the turn; later system messages and her reply so far join the system text.

    SillyTavern puts post-history instructions, continue and impersonate nudges and group nudges after
    the person's message, and "continue" ends with her own unfinished reply. Everything after the
    person's message is an instruction to her, so it goes into the client's system text, in order.
    A request where she has already answered the person's message (continue, impersonate, a nudge) is not
    stored again: their message was kept when it was first answered.
    """
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        roles = ", ".join(dict.fromkeys(m.role for m in messages))
        raise bad_request(
            f'there is no message from the person (role "user") to answer; this request has only: {roles}'
        )
    turn = messages[last]
    where = f"messages[{last}]"
    if isinstance(turn.content, list) and (kinds := {p.type for p in turn.content} - {"text"}):
        raise bad_request(
            f"Samantha reads text only; the person's message ({where}) has {', '.join(sorted(kinds))}"
        )
    text = turn.text()
    if not text.strip():
        raise bad_request(
            f"the person's message ({where}) is empty, so there is nothing to answer; type something "
            "(SillyTavern: or set a 'Replace empty message' text in its prompt settings)",
            param=where,
        )
    if len(text) > MAX_TEXT_CHARS:
        raise bad_request(f"the person's message ({where}) is longer than {MAX_TEXT_CHARS} characters", where)

    before, after = messages[:last], messages[last + 1 :]
    system = [m.text() for m in before if m.role in ("system", "developer") and m.text().strip()]
    history = [
        PromptTurn("user" if m.role == "user" else "assistant", m.text())
        for m in before
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    answered = False
    for m in after:
        if m.role in ("system", "developer") and m.text().strip():
            system.append(m.text())
        elif m.role == "assistant" and m.text().strip():
            answered = True
            system.append(f'Your reply to their last message, so far: "{m.text().strip()}"')
    why = opted_out or chore(messages, text) or ("she had already answered this message" if answered else "")
    return ClientTurn(text, "\n\n".join(system), history, store=not why, why_not_stored=why)


def store_wanted(header: str | None, body: ChatRequest) -> str:
    """Why the client opted out of storing (`X-Samantha-Store: no`, or OpenAI's `store: false`), else ""."""
    if header is not None and header.strip().lower() in _NO:
        return "the client sent X-Samantha-Store: no"
    if body.store is False:
        return "the client sent store: false"
    return ""


def check_features(body: ChatRequest) -> None:
    """Refuse what she cannot do rather than ignore it: forced tool calls and structured output."""
    choice = body.tool_choice
    if body.tools and (choice == "required" or isinstance(choice, dict)):
        shown = choice if isinstance(choice, str) else "a named function"
        raise bad_request(
            f"Samantha cannot call tools, so tool_choice {shown!r} cannot be honoured; leave tool_choice "
            'unset, "auto" or "none" (she then answers in words)',
            param="tool_choice",
        )
    kind = (body.response_format or {}).get("type", "text")
    if kind != "text":
        raise bad_request(
            f"Samantha answers in her own words; response_format {kind!r} is not supported "
            '(leave it unset or {"type": "text"}, and ask for JSON in the message if you need it)',
            param="response_format",
        )


def gen_params(base: GenParams, body: ChatRequest) -> GenParams:
    """The server's generation parameters with the request's own applied."""
    limit = body.max_completion_tokens or body.max_tokens
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return replace(
        base,
        max_tokens=min(limit, base.max_tokens) if limit else base.max_tokens,
        temperature=base.temperature if body.temperature is None else body.temperature,
        top_p=base.top_p if body.top_p is None else body.top_p,  # 0 is a real value (greedy)
        stop=stop or base.stop,
    )


def stored_header(asked: ClientTurn) -> str:
    """The X-Samantha-Stored answer: "yes", or "no; <why>" so a client can see why nothing was kept."""
    return "yes" if asked.store else f"no; {asked.why_not_stored}"


async def begin_turn(
    services: Services, user: str, conversation: str, asked: ClientTurn, body: ChatRequest
) -> tuple[ChatSession, TurnRunner, Delta | Done, int]:
    """Start the turn in a task of its own and wait for its first words; a failure before them is raised.

    Also checks, for every door, the person's rate limit (a 429 that says when to retry) and that the
    request fits the prompt budget; returns the prompt's tokens too."""
    if wait := await services.limiter.wait(user):
        message = f"too many requests; try again in {wait:.0f} s"
        retry = {"Retry-After": str(math.ceil(wait))}  # what clients (the OpenAI SDK too) wait for
        raise APIError(429, ErrorDetail(message=message, type="requests", code="rate_limit_exceeded"), retry)
    session = services.session(user, conversation)
    session.config = replace(session.config, params=gen_params(session.config.params, body))
    count = services.backend.count_tokens
    # Counted in a thread: a model's tokenizer over a long request held the event loop for seconds.
    prompt_tokens = await asyncio.to_thread(fit_budget, count, services, session.config, body)
    if not asked.store:
        log.info("answering without storing for %s: %s", user, asked.why_not_stored)
    cap = services.settings.history_turns
    history = asked.history[-cap:] if cap else []
    turn = TurnRunner(
        session.respond(asked.text, history=history, extra_system=asked.system, store=asked.store)
    )
    first = await turn.next()
    if isinstance(first, ErrorFrame):  # nothing was sent yet: a proper HTTP error
        await turn.close()
        raise APIError.from_frame(first)
    return session, turn, first, prompt_tokens


async def whole_reply(turn: TurnRunner, first: Delta | Done) -> Done:
    """Wait for the whole reply (no streaming); a failure on the way is raised."""
    try:
        frame: Delta | Done | ErrorFrame = first
        while isinstance(frame, Delta):
            frame = await turn.next()
    finally:
        await turn.close()
    if isinstance(frame, ErrorFrame):
        raise APIError.from_frame(frame)
    return frame
