"""What the running server holds: settings, persona, memory, backend, and background learning."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from app.backends import Backend, create_backend
from app.config import Settings
from app.engines import check_database, open_accounts, open_memory
from app.journal import model_for_journal, write_due
from app.learning import Learner, learn
from app.limits import RateLimiter, SharedRateLimiter
from app.model_catalog import check_model_file
from app.scheduler import InitiativeConfig, Outbox, Scheduler
from app.session import ChatSession, TurnConfig
from app.unlock import passphrase_for
from memory.accounts import AccountStore
from memory.embedder import Embedder, load_embedder
from memory.seeds import ingest_seeds
from memory.store_base import MemoryEngine
from persona.clock import Clock, SystemClock
from persona.errors import SamanthaError
from persona.messages import GenParams
from persona.persona import Persona, load_persona

log = logging.getLogger(__name__)


class StartupError(SamanthaError):
    """The server must not start as configured; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Services:
    """The loaded parts of a server, built once at start and closed once at shutdown."""

    settings: Settings
    persona: Persona
    store: MemoryEngine
    backend: Backend
    accounts: AccountStore
    learner: Learner = field(default_factory=Learner)
    limiter: RateLimiter | SharedRateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    sockets: Counter[str] = field(default_factory=Counter)  # open chat sockets per user
    clock: Clock = field(default_factory=SystemClock)  # the one "now": memory and the session read it
    outbox: Outbox = field(default_factory=Outbox)  # open sockets her unprompted messages can reach
    scheduler: Scheduler | None = None  # started by the app's lifespan (app/main.py)
    owns_store: bool = True
    owns_backend: bool = True
    owns_accounts: bool = True

    def turn_config(self) -> TurnConfig:
        """The per-turn knobs from the settings."""
        s = self.settings
        return TurnConfig(
            recall_k=s.recall_k,
            history_turns=s.history_turns,
            context_tokens=s.context_tokens,
            params=GenParams(
                max_tokens=s.max_tokens, temperature=s.temperature, repeat_penalty=s.repeat_penalty
            ),
            model_facts=s.facts == "model" or (s.facts == "auto" and self.backend.extracts_facts),
            quiet_hours=(self.initiative().quiet_from, self.initiative().quiet_to) if s.initiative else None,
        )

    def session(self, user: str, conversation: str) -> ChatSession:
        """A chat session for one user's conversation."""
        return ChatSession(
            user=user,
            conversation=conversation,
            store=self.store,
            backend=self.backend,
            persona=self.persona,
            learner=self.learner,
            config=self.turn_config(),
        )

    async def finish_learning(self) -> None:
        """Learn, in the background, from messages stored but cut short before learning (a crash)."""
        pending = await self.store.unlearned_turns()
        if pending:
            log.info("learning from %d message(s) stored before the last stop", len(pending))
        model_facts = self.turn_config().model_facts
        for said in pending:
            # Her reply was stored before the crash too if she finished it: her words are memories as well.
            reply = await self.store.reply_to(said)
            self.learner.spawn(said.user, learn(self.store, self.backend, model_facts, said, reply))

    @property
    def model_name(self) -> str:
        """The model the backend runs, as people would name it."""
        return self.backend.model_name

    def initiative(self) -> InitiativeConfig:
        """Her initiative's knobs from the settings."""
        s = self.settings
        quiet_from, quiet_to = (int(h) for h in s.quiet_hours.split("-"))
        return InitiativeConfig(
            enabled=s.initiative,
            per_day=s.initiative_per_day,
            quiet_from=quiet_from,
            quiet_to=quiet_to,
            check_in_days=s.check_in_days,
            interval_s=s.initiative_interval,
        )

    def start_initiative(self) -> None:
        """Start the scheduler's rounds (in the running event loop)."""
        if self.scheduler is None:
            # With replicas, a server that died leaves learning undone that no restart of it may finish:
            # the others pick it up on their rounds (claimed in the database, memory/pg/store.py).
            learning = self.finish_learning if self.settings.database is not None else None
            self.scheduler = Scheduler(
                self.store, self.outbox, self.initiative(), self.write_journal, learning
            )
            self.scheduler.start()

    async def write_journal(self, user: str | None = None, *, rules_only: bool = False) -> int:
        """Write up conversations gone quiet (one user's or all); the model only when nobody is connected."""
        model = None if rules_only else model_for_journal(self.backend, sum(self.sockets.values()) > 0)
        quiet = timedelta(minutes=self.settings.journal_after_minutes)
        return await write_due(self.store, model, quiet, user)

    async def aclose(self) -> None:
        """Stop her initiative, finish background learning, then release what this object opened."""
        if self.scheduler is not None:
            await self.scheduler.aclose()
        await self.learner.aclose()
        if self.owns_backend:
            await self.backend.aclose()
        if self.owns_store:
            await self.store.aclose()
        else:
            await self.store.save_indexes()
        if self.owns_accounts:
            await self.accounts.aclose()


async def check_exposure(settings: Settings, accounts: AccountStore) -> None:
    """Refuse to listen beyond this machine while nobody needs a token to read her memories."""
    if not is_loopback(settings.host) and await accounts.active_count() == 0:
        raise StartupError(
            f"refusing to listen on {settings.host} with no users: anyone who can reach it could read "
            "her memories. Create one first with `samantha user add NAME` (or listen on 127.0.0.1)."
        )


def check_files(settings: Settings) -> None:
    """The files the settings name exist (before anything slow loads); each refusal says how to fix it."""
    if not settings.persona_file.is_file():
        raise StartupError(f"no persona file at {settings.persona_file} (--persona-file)")
    if settings.seeds_dir is not None and not settings.seeds_dir.is_dir():
        raise StartupError(f"{settings.seeds_dir} is not a directory; pass --seeds-dir '' to skip seeding")
    if settings.backend == "llamacpp":
        check_model_file(settings.model)


async def open_services(
    settings: Settings,
    *,
    backend: Backend | None = None,
    memory: MemoryEngine | None = None,
    embedder: Embedder | None = None,
    accounts: AccountStore | None = None,
    clock: Clock | None = None,
) -> Services:
    """Load the persona, memory (seeding it on first start), accounts and backend; injected parts are
    borrowed. A `clock` (a scripted conversation's) replaces the machine's; an injected store keeps its own.

    The one start-up path: `samantha serve`, the in-process server and the tests all come through here,
    and every refusal is a SamanthaError whose message says what to do.
    """
    check_files(settings)
    persona = load_persona(settings.persona_file)
    passphrase = None
    if settings.database is not None and settings.encrypt:
        raise StartupError(
            "--encrypt is for the embedded store's data folder; on Postgres, encrypt the database's disk "
            "(docs/DEPLOYMENT.md)"
        )
    if settings.database is None and (memory is None or accounts is None):
        passphrase = passphrase_for(settings.data_dir, encrypt=settings.encrypt)
    store = memory
    if store is None:
        await check_database(settings, passphrase)
        if embedder is None:
            embedder = await asyncio.to_thread(load_embedder, None, settings.embedder)
        store = await open_memory(settings, embedder, passphrase, clock)
    try:
        users = accounts if accounts is not None else await open_accounts(settings, passphrase)
    except BaseException:
        if memory is None:
            await store.aclose()
        raise
    try:
        await check_exposure(settings, users)
        if settings.seeds_dir is not None:
            await ingest_seeds(store, settings.seeds_dir)
        model = backend if backend is not None else await asyncio.to_thread(create_backend, settings)
        await model.start()  # a remote server names its model now, not at the first turn
    except BaseException:
        if memory is None:
            await store.aclose()
        if accounts is None:
            await users.aclose()
        raise
    services = Services(
        settings=settings,
        persona=persona,
        store=store,
        backend=model,
        accounts=users,
        # Servers sharing a database share the buckets too: the limit is per person, not per replica.
        limiter=(
            SharedRateLimiter(store, settings.rate_limit, burst=10)
            if settings.database is not None
            else RateLimiter(settings.rate_limit, burst=10)
        ),
        clock=store.clock,
        owns_store=memory is None,
        owns_backend=backend is None,
        owns_accounts=accounts is None,
    )
    await services.finish_learning()
    return services
