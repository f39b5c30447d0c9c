"""Local generation with llama.cpp: a synchronous stream walked in a thread, one generation at a time."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from app.backends.base import BackendError
from persona.messages import GenParams, Message

log = logging.getLogger(__name__)
_END = object()


class LlamaCppBackend:
    """A GGUF model run in-process by llama-cpp-python."""

    name = "llamacpp"
    speaks = True
    extracts_facts = False  # asked for JSON, the small local models invent facts (bench/RESULTS.md, facts)

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, threads: int | None = None) -> None:
        # OpenMP threads that spin while idle starve everything else on a busy machine, the model itself
        # too (bench/RESULTS.md, threads). Read once, when the OpenMP runtime loads; if torch loaded it
        # first, memory/embedder.py set the same.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from llama_cpp import Llama

        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=threads or os.cpu_count() or 1,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"could not load the model {model_path}: {exc}", code="model_load") from exc
        self.model_name = model_path.name
        # llama.cpp contexts are not thread-safe: one generation at a time per model.
        self._lock = asyncio.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens the model's own tokenizer makes of `text` (as text: no special tokens)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def plain(self, text: str) -> str:
        """`text` without any piece this model's tokenizer would read as a special token.

        The chat template's rendering is tokenized as a whole with special tokens on, so a user's or a
        memory's "<|im_start|>" (or "<file_sep>", or whatever this vocabulary holds) would become the real
        control token. Removed until none is left, since removing one can join the pieces around it.
        """
        tokenize = self._llm.tokenize
        while True:
            raw = text.encode("utf-8")
            special, plain = (
                tokenize(raw, add_bos=False, special=True),
                tokenize(raw, add_bos=False, special=False),
            )
            if special == plain:
                return text
            before = text
            for token in set(special) - set(plain):
                piece = self._llm.detokenize([token], special=True)
                # A special token: one token when specials are parsed, several when spelled out as text.
                if (
                    tokenize(piece, add_bos=False, special=True) == [token]
                    and len(tokenize(piece, add_bos=False, special=False)) > 1
                ):
                    text = text.replace(piece.decode("utf-8", "ignore"), "")
            if text == before:
                return text

    async def generate(self, messages: Sequence[Message], params: GenParams) -> AsyncGenerator[str, None]:
        """Stream the reply; closing this generator stops generation at the next token."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[Any] = asyncio.Queue()
            stop = threading.Event()

            def put(item: object) -> None:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                except RuntimeError:  # the loop is gone (shutdown); nobody is listening any more
                    stop.set()

            def work() -> None:
                try:
                    # The template's own control tokens only: none may come from what people said.
                    safe = [{**m, "content": self.plain(m["content"])} for m in messages]
                    stream = self._llm.create_chat_completion(
                        messages=safe,  # type: ignore[arg-type]
                        stream=True,
                        max_tokens=params.max_tokens,
                        temperature=params.temperature,
                        top_p=params.top_p,
                        repeat_penalty=params.repeat_penalty,
                        stop=list(params.stop) or None,
                    )
                    for chunk in stream:
                        if stop.is_set():
                            break
                        delta = chunk["choices"][0]["delta"].get("content")  # type: ignore[index,union-attr]
                        if delta:
                            put(delta)
                except Exception as exc:  # reported to the awaiting side as a BackendError
                    put(exc)
                finally:
                    put(_END)

            worker = asyncio.ensure_future(asyncio.to_thread(work))
            try:
                while True:
                    item = await queue.get()
                    if item is _END:
                        break
                    if isinstance(item, BaseException):
                        log.warning("llama.cpp generation failed: %s", item)
                        raise BackendError(f"the local model failed: {item}") from item
                    yield item
            finally:
                stop.set()
                # Hold the lock until the thread has really stopped touching the model.
                await asyncio.wait({worker})

    async def start(self) -> None:
        """Nothing to do: the model loaded with the backend."""

    async def aclose(self) -> None:
        """Free the model."""
        async with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()
