"""The voice commands of `samantha chat`: /talk (push-to-talk) and /read (her replies read aloud).

Push-to-talk: /talk (or Ctrl+T at the prompt) starts recording, Enter stops; the recording goes to the
server's ears over the chat socket and the transcript comes back into the prompt, where the person can
edit it before pressing Enter to send it (as the page puts it in the message box). Whatever was typed
before Ctrl+T stays in front of it.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from app.client_api import ApiError, MemoryAPI
from app.client_term import LoopThread, Screen
from app.client_voice import AudioUnavailable, Microphone, Speaker, SystemMicrophone, SystemSpeaker
from app.protocol import Heard, VoiceSettings, VoiceState

if TYPE_CHECKING:
    from app.client_link import Link

log = logging.getLogger(__name__)
# Whisper on one busy core takes a second or two a phrase; a long recording, longer (bench/RESULTS.md).
HEAR_TIMEOUT = 120.0


class Talk:
    """Push-to-talk and read-aloud for one terminal; the devices open only when first used."""

    def __init__(
        self,
        link: Link,
        loop: LoopThread,
        screen: Screen,
        api: MemoryAPI,
        mic: Microphone | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.link = link
        self.loop = loop
        self.screen = screen
        self.api = api
        self.mic = mic
        self.speaker = speaker
        self.draft: str | None = None  # the next prompt starts with this (a transcript to edit)

    def talk(self, before: str) -> None:
        """Record until Enter, have it transcribed, and leave the words at the next prompt to edit."""
        self.draft = before or None  # whatever happens, what was typed before Ctrl+T comes back
        if not self._server_listens():
            return
        try:
            recording = (self.mic or SystemMicrophone()).start()
        except AudioUnavailable as exc:
            self.screen.line(f"! {exc}")
            return
        try:  # a Ctrl+C as soon as the line shows must drop the recording too
            self.screen.line("(listening… press Enter to stop, Ctrl+C to drop it)")
            sys.stdin.readline()
        except KeyboardInterrupt:
            recording.stop()
            self.screen.line("(dropped)")
            return
        wav = recording.stop()
        self.screen.line("(transcribing…)")
        frame = self.loop.run(self.link.ask(wav, Heard, HEAR_TIMEOUT))
        heard = frame.text if isinstance(frame, Heard) else None
        self.draft = " ".join(part for part in (before, heard) if part) or None
        if heard:
            self.screen.line("(heard you: edit it if you like, then Enter sends it)")

    def read(self, choice: str) -> None:
        """/read on|off: her replies spoken through the speaker, sentence by sentence, or not."""
        if choice not in ("on", "off"):
            now = "on" if self.link.read_aloud else "off"
            self.screen.line(f"Usage: /read on|off (reading her replies aloud is {now})")
            return
        if choice == "on" and self.link.speaker is None:
            try:
                self.link.speaker = self.speaker or SystemSpeaker()
            except AudioUnavailable as exc:
                self.screen.line(f"! {exc}")
                return
        ask = VoiceSettings(type="voice", read_aloud=choice == "on", voice=None).model_dump_json()
        state = self.loop.run(self.link.ask(ask, VoiceState))
        if not isinstance(state, VoiceState):
            return
        self.link.read_aloud = state.read_aloud
        if state.read_aloud:
            self.screen.line(f"(reading her replies aloud, in the voice {state.voice})")
        elif choice == "on":
            self.screen.line("(this server has no voice: it runs with --voice off)")
        else:
            self.hush()
            self.screen.line("(no longer reading her replies aloud)")

    def hush(self) -> None:
        """Stop her voice at once (a reply stopped, or a new message sent)."""
        if self.link.speaker is not None:
            self.link.speaker.stop()

    def _server_listens(self) -> bool:
        try:
            status = self.api.voice()
        except ApiError as exc:
            self.screen.line(exc.args[0])
            return False
        if not status.get("listen"):
            self.screen.line("! this server does not listen to speech (it runs with --listen off)")
            return False
        return True
