"""The prompt budget of an OpenAI-style request: her persona, the client's system text and the message
must fit beside the reply, or the client hears which setting to raise (not a 502 from the model)."""

from __future__ import annotations

from collections.abc import Callable

from app.routes.openai_models import APIError, ChatRequest, ErrorDetail
from app.services import Services
from app.session import TurnConfig

# Template tokens, the date line and the memory header beside the texts themselves (persona/prompt.py).
PROMPT_ALLOWANCE = 64


def fit_budget(count: Callable[[str], int], services: Services, config: TurnConfig, body: ChatRequest) -> int:
    """The request's prompt tokens; a 400 naming the setting when her persona, the client's system text
    and the message cannot fit in the prompt budget together (llama.cpp would fail with a 502)."""
    persona = count(services.persona.system_text())
    sizes = [count(m.text()) if m.text() else 0 for m in body.messages]  # each message counted once
    # The person's message is their last `user` one; the client's own texts are its system messages.
    pairs = list(zip(sizes, body.messages, strict=True))
    said = next((n for n, m in reversed(pairs) if m.role == "user"), 0)
    own = sum(n for n, m in pairs if m.role in ("system", "developer"))
    needed = persona + own + said + PROMPT_ALLOWANCE
    budget = config.context_tokens - config.params.max_tokens
    if needed > budget:
        message = (
            f"the system and last messages take {own + said} tokens, and with her persona"
            f" ({persona}) the prompt needs {needed} of the {budget} left for it: shorten them, or raise"
            f" --context-tokens (SAMANTHA_CONTEXT_TOKENS, now {config.context_tokens}; the model's own"
            " context must allow it)"
        )
        raise APIError(400, ErrorDetail(message=message, param="messages", code="invalid_request"))
    return persona + sum(sizes)
