"""`samantha chat`: talk to a running server from the terminal, over the websocket protocol only.

The main thread owns the terminal: `input()` with readline (editing, history, Ctrl+C as in any shell), and
the wait for a reply. The websocket lives on an event loop in a background thread (app/client_link.py),
so frames flow and reconnecting goes on while the user types. SIGINT reaches the main thread only: during a
reply Ctrl+C becomes a `cancel` frame; at the prompt it drops the line, and a second one at the next prompt
leaves (so a Ctrl+C meant for a reply that just ended never closes the client). /quit and Ctrl+D leave too.

Only the standard library is imported up here, so registering the subcommand costs nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from app.client_term import (
    LoopThread,
    Screen,
    editable,
    has_readline,
    save_history,
    short,
    start_readline,
    wait,
)

if TYPE_CHECKING:
    from app.client_api import MemoryAPI
    from app.client_link import Link
    from app.client_talk import Talk
    from app.client_voice import Microphone, Speaker

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_URL = "ws://127.0.0.1:8000/ws"
PROMPT = "you> "
COMMANDS = {
    "/new": "start a new conversation",
    "/memories [words]": "list what she remembers (only memories containing the words, if given)",
    "/forget ID": "forget a memory for good (and what was learned from it)",
    "/recalled": "what she recalled for her last reply, and how strongly",
    "/talk": "say it instead of typing (Ctrl+T too): Enter stops, the words come back to edit and send",
    "/read on|off": "read her replies aloud (or stop)",
    "/help": "this list",
    "/quit": "leave (Ctrl+D works too; Ctrl+C stops a reply, or leaves when pressed twice at the prompt)",
}
SHOWN_MEMORIES = 50


def add_chat_command(commands: Any) -> None:
    """Register `samantha chat` on the top-level subparsers."""
    about = "Talk to a running server from the terminal."
    chat = commands.add_parser("chat", help=about, description=about + " /help lists the commands.")
    chat.add_argument("--url", default=DEFAULT_URL, help=f"The server's chat socket [default: {DEFAULT_URL}]")
    chat.add_argument(
        "--token", default=os.environ.get("SAMANTHA_TOKEN"), help="Access token [env SAMANTHA_TOKEN]"
    )
    chat.add_argument("--conversation", help="Continue this conversation (its id) [default: a new one]")
    chat.add_argument(
        "--mic",
        metavar="FILE",
        help="An audio file to use as the microphone for /talk (each recording hears it from its start) "
        "[default: the system's microphone]",
    )
    chat.add_argument(
        "--speaker",
        metavar="FILE",
        help="Write what she says aloud to this WAV file instead of playing it [default: the speaker]",
    )
    chat.add_argument("--read-aloud", action="store_true", help="Start reading her replies aloud (/read on)")


def run_chat(args: argparse.Namespace) -> int:
    """`samantha chat`: connect, then talk until /quit, Ctrl+D or Ctrl+C twice; 1 if unreachable."""
    from pydantic import ValidationError

    from app.client_api import MemoryAPI
    from app.client_link import Link, LinkError
    from app.client_talk import Talk
    from app.client_voice import AudioUnavailable
    from app.protocol import Hello

    if urllib.parse.urlsplit(args.url).scheme not in ("ws", "wss"):
        print(f"samantha chat: --url must start with ws:// or wss://, not {args.url!r}", file=sys.stderr)
        return 2
    try:
        Hello(type="hello", conversation=args.conversation, token=args.token)
    except ValidationError:
        print("samantha chat: --conversation takes A-Z a-z 0-9 _ . - (64 at most)", file=sys.stderr)
        return 2
    try:
        mic, speaker = audio_files(args.mic, args.speaker)
    except AudioUnavailable as exc:
        print(f"samantha chat: {exc}", file=sys.stderr)
        return 2
    screen = Screen()
    loop = LoopThread()
    link = Link(args.url, args.token, args.conversation, screen)
    try:
        ready = loop.run(link.open())
    except LinkError as exc:
        hint = "" if exc.args[1:] == ("refused",) else "\nIs the server running? (`samantha serve`)"
        print(f"samantha chat: {exc.args[0]}{hint}", file=sys.stderr)
        loop.stop()
        return 1
    except KeyboardInterrupt:
        loop.stop()
        return 130
    screen.line(f"Connected to {ready.persona} ({ready.backend}); conversation {ready.conversation}.")
    screen.line("Type a message, or /help for commands.\n")
    screen.line(f"{ready.persona}: {ready.greeting}")
    history = start_readline(screen, list(COMMANDS))
    api = MemoryAPI(args.url, args.token)
    talk = Talk(link, loop, screen, api, mic, speaker)
    if args.read_aloud:
        talk.read("on")
    try:
        return Terminal(link, loop, screen, api, talk).run()
    finally:
        save_history(history)
        try:
            loop.run(link.close(), timeout=3)
        except (Exception, KeyboardInterrupt) as exc:  # leaving anyway
            log.debug("closing the link: %r", exc)
        loop.stop()


def audio_files(mic: str | None, speaker: str | None) -> tuple[Microphone | None, Speaker | None]:
    """The files named to stand in for a microphone and a speaker (None: the system's devices)."""
    from app.client_voice import FileMicrophone, FileSpeaker

    return (
        FileMicrophone(Path(mic)) if mic else None,
        FileSpeaker(Path(speaker)) if speaker else None,
    )


class Terminal:
    """The read–say loop: lines become messages or commands; Ctrl+C is handled as described above."""

    def __init__(self, link: Link, loop: LoopThread, screen: Screen, api: MemoryAPI, talk: Talk) -> None:
        self.talk = talk
        self.link = link
        self.loop = loop
        self.screen = screen
        self.api = api

    def run(self) -> int:
        """Read and answer lines until the user leaves; the exit status."""
        leaving = False  # Ctrl+C was pressed at the previous prompt
        while True:
            try:
                line = self._read()
            except EOFError:
                self.screen.write("\n")
                return 0
            except KeyboardInterrupt:
                if leaving:
                    self.screen.write("\n")
                    return 0
                leaving = True
                self.screen.line("\n(Ctrl+C again to leave, or type a message)")
                continue
            leaving = False
            try:
                if self.handle(line.strip()):
                    return 0
            except KeyboardInterrupt:
                self.screen.line("(cancelled)")
            except Exception as exc:  # the terminal never shows a traceback; the log has details
                log.debug("command failed", exc_info=True)
                self.screen.line(f"! something went wrong: {str(exc) or type(exc).__name__}")

    def _read(self) -> str:
        prompt = PROMPT if sys.stdin.isatty() else ""  # no prompts in the output of a piped session
        self.screen.prompt = prompt
        draft, self.talk.draft = self.talk.draft, None
        try:
            with editable(draft):
                line = input(prompt)
        finally:
            self.screen.prompt = None
        if draft and not has_readline():  # nothing to edit it with: Enter alone sends the transcript
            return line or draft
        return line

    def handle(self, line: str) -> bool:
        """Carry out one line; True when the user asked to leave."""
        if not line:
            return False
        if not line.startswith("/") or line.startswith("//"):  # "//" sends a message that starts with "/"
            self.say(line.removeprefix("/") if line.startswith("//") else line)
            return False
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        match command:
            case "/quit" | "/exit":
                return True
            case "/help":
                width = max(len(name) for name in COMMANDS)
                for name, what in COMMANDS.items():
                    self.screen.line(f"  {name:<{width}}  {what}")
                self.screen.line("  Start a message with // to send one that begins with /.")
            case "/new":
                ready = self.loop.run(self.link.new_conversation())
                if ready is not None:
                    self.screen.line(f"(new conversation {ready.conversation})")
                    self.screen.line(f"{ready.persona}: {ready.greeting}")
            case "/recalled":
                self.show_recalled()
            case "/talk":
                self.talk.talk(rest)
            case "/read":
                self.talk.read(rest)
            case "/memories":
                self.show_memories(rest)
            case "/forget" if rest.isdigit():
                self.forget(int(rest))
            case "/forget":
                self.screen.line("Usage: /forget ID (the number /memories shows after #)")
            case _:
                self.screen.line(f"Unknown command {command}; /help lists them.")
        return False

    def say(self, text: str) -> None:
        """Send a message and stream the reply; Ctrl+C stops the reply, a second one stops waiting."""
        from app.protocol import MAX_TEXT_CHARS

        if len(text) > MAX_TEXT_CHARS:
            self.screen.line(f"(too long: a message holds at most {MAX_TEXT_CHARS} characters)")
            return
        self.talk.hush()  # a new message stops her reading the last reply, as on the page
        future = self.loop.submit(self.link.turn(text))
        try:
            wait(future)
        except KeyboardInterrupt:
            self.talk.hush()
            self.loop.call(self.link.interrupt)  # the link sends `cancel` and waits for the reply's end
            try:
                wait(future)
            except KeyboardInterrupt:
                future.cancel()
                self.screen.line("(stopped waiting)")

    def show_recalled(self) -> None:
        """The memories recalled for the last reply: score, kind, id and text."""
        recalled = self.link.last_recalled
        if recalled is None:
            self.screen.line("Nothing yet: /recalled shows what she recalled for her last reply.")
        elif not recalled:
            self.screen.line("She recalled nothing for her last reply.")
        else:
            many = f"{len(recalled)} memories" if len(recalled) > 1 else "1 memory"
            self.screen.line(f"She recalled {many} for her last reply (score: higher is closer):")
            for m in recalled:
                w = m.why
                self.screen.line(f"  {m.score:.2f}  {m.kind:<10} #{m.id:<5} {short(m.text)}")
                self.screen.line(
                    f"        meaning {w.dense:.2f}, words {w.lexical:.2f}, beside a match {w.context:.2f}, "
                    f"recency {w.recency:.2f}, importance {w.importance:.2f}"
                )

    def show_memories(self, words: str) -> None:
        """What she remembers, newest first: id, kind, date and text."""
        from app.client_api import ApiError

        try:
            found = self.api.memories(words, SHOWN_MEMORIES)
        except ApiError as exc:
            self.screen.line(exc.args[0])
            return
        if not found:
            self.screen.line(f"No memories contain {words!r}." if words else "She remembers nothing yet.")
        for m in found:
            self.screen.line(f"  #{m['id']:<5} {m['kind']:<10} {m['created_at'][:10]}  {short(m['text'])}")
        if len(found) == SHOWN_MEMORIES:
            self.screen.line(f"  (the newest {SHOWN_MEMORIES}; /memories WORDS narrows the list)")

    def forget(self, memory_id: int) -> None:
        """Forget a memory through the API and say what happened."""
        from app.client_api import ApiError

        try:
            count = self.api.forget(memory_id)
        except ApiError as exc:
            self.screen.line(exc.args[0])
            return
        also = f" and {count - 1} learned from it" if count > 1 else ""
        self.screen.line(f"Forgot memory #{memory_id}{also}. She won't recall it again.")
