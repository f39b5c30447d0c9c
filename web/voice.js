// Her voice and ears in the page, all on Samantha's own server (docs/VOICE.md): replies read aloud as
// they stream (`audio` frames), push-to-talk (hold the microphone, release to get the words in the box,
// editable before sending), and call mode (call.js). Works offline: nothing here uses the browser's
// cloud speech services.

import { Call } from "./call.js";
import { VoicePlayer } from "./voice-audio.js";

const READ_KEY = "samantha.readAloud";
const HOLD_MS = 300; // a shorter press is a click: recording goes on until the next click

// Error frames about audio: voice.js shows them; they never end a turn.
const VOICE_ERRORS = new Set([
  "empty_audio", "bad_audio", "audio_too_long", "no_speech", "unclear_speech", "busy_listening",
  "listen_off", "listen_failed", "voice_off", "voice_failed", "unknown_voice", "empty_text",
]);
/** Whether an error frame is about audio (app.js leaves those to this module). */
export const isVoiceError = (frame) => VOICE_ERRORS.has(frame.code);

const CALL_STATES = {
  listening: "On a call · listening",
  hearing: "On a call · hearing you…",
  thinking: "On a call · she's thinking…",
  speaking: "On a call · she's speaking",
  muted: "On a call · muted",
  starting: "Starting the call…",
};

/**
 * Wire the voice controls. `app` gives: socket (ChatSocket), input (the message box), notify(text),
 * send(text) -> bool, stop() (stop her reply), busy() -> bool (a reply is streaming).
 * Returns {silence()} for app.js to call when the person sends or stops.
 */
export function setupVoice(ui, app) {
  const player = new VoicePlayer();
  const status = { voice: null, listen: false };
  let readAloud = localStorage.getItem(READ_KEY) === "on";
  let call = null;
  let pending = null; // a call's phrase waiting for her reply to stop

  const speakingNow = () => player.speaking;
  player.addEventListener("speaking", () => {
    ui.toggle.dataset.speaking = "true";
    if (call) showCall("speaking");
  });
  player.addEventListener("quiet", () => {
    delete ui.toggle.dataset.speaking;
    if (call) showCall(call.muted ? "muted" : "listening");
  });

  function tellServer() {
    const on = readAloud || call !== null;
    if (status.voice) app.socket.send({ type: "voice", read_aloud: on, voice: null });
  }

  function setReadAloud(on) {
    readAloud = on;
    localStorage.setItem(READ_KEY, on ? "on" : "off");
    ui.toggle.setAttribute("aria-pressed", String(on));
    if (on) player.unlock();
    else if (!call) player.stop();
    tellServer();
  }
  ui.toggle.addEventListener("click", () => setReadAloud(!readAloud));

  // -- push-to-talk ------------------------------------------------------------------------------

  let recorder = null;
  let pressedAt = 0;
  let latched = false;
  let released = false;

  async function record() {
    released = false;
    ui.mic.setAttribute("aria-pressed", "true");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
    } catch (error) {
      ui.mic.setAttribute("aria-pressed", "false");
      app.notify(`I can't use the microphone: ${error.message}`);
      return;
    }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => chunks.push(event.data));
    recorder.addEventListener("stop", async () => {
      stream.getTracks().forEach((track) => track.stop());
      const blob = new Blob(chunks, { type: recorder?.mimeType || "audio/webm" });
      recorder = null;
      ui.mic.setAttribute("aria-pressed", "false");
      if (blob.size === 0) return;
      app.input.placeholder = "Writing down what you said…";
      app.socket.sendBytes(await blob.arrayBuffer());
    });
    recorder.start();
    if (released && !latched) recorder.stop(); // let go before the microphone was ready
  }

  function finish() {
    released = true;
    latched = false;
    if (recorder && recorder.state === "recording") recorder.stop();
  }

  ui.mic.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    if (latched) return finish();
    pressedAt = performance.now();
    record();
  });
  ui.mic.addEventListener("pointerup", () => {
    if (latched) return;
    if (performance.now() - pressedAt < HOLD_MS) latched = true; // a click: keep recording
    else finish();
  });
  ui.mic.addEventListener("pointercancel", () => !latched && finish());
  ui.mic.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) {
      event.preventDefault();
      if (recorder) finish();
      else {
        latched = true;
        record();
      }
    }
  });

  /** Put what was heard in the box, after anything already typed; the person sends it (or edits it). */
  function intoInput(text) {
    const before = app.input.value.trim();
    app.input.value = before ? `${before} ${text}` : text;
    app.input.dispatchEvent(new Event("input"));
    app.input.focus();
  }

  // -- call mode ---------------------------------------------------------------------------------

  function showCall(name) {
    ui.callState.hidden = name === "ended";
    ui.callState.dataset.state = name;
    ui.callState.textContent = CALL_STATES[name] || "";
  }

  /** Send a phrase from the call as soon as her reply (being stopped) has ended. */
  function sendFromCall(text) {
    pending = text;
    const attempt = (triesLeft) => {
      if (pending !== text) return;
      if (!app.busy() && app.send(text)) {
        pending = null;
        showCall("thinking");
      } else if (triesLeft > 0) setTimeout(() => attempt(triesLeft - 1), 200);
      else intoInput(text); // never lost: it waits in the box
    };
    attempt(50);
  }

  async function startCall() {
    player.unlock();
    showCall("starting");
    ui.call.setAttribute("aria-pressed", "true");
    call = new Call({
      heard: (wav) => app.socket.sendBytes(wav),
      interrupt: () => {
        // Barge-in: the person speaks, so she stops, as if they had pressed Stop.
        player.stop();
        if (app.busy()) app.stop();
      },
      state: showCall,
    });
    tellServer();
    try {
      await call.start();
      ui.mute.hidden = false;
      ui.mic.hidden = true; // she is listening already: mute takes its place
    } catch (error) {
      app.notify(`The call could not start: ${error.message}`);
      endCall();
    }
  }

  function endCall() {
    const ending = call;
    call = null;
    ending?.end().catch(() => {});
    player.stop();
    ui.call.setAttribute("aria-pressed", "false");
    ui.mute.hidden = true;
    ui.mute.setAttribute("aria-pressed", "false");
    ui.mic.hidden = !status.listen;
    showCall("ended");
    tellServer();
  }

  ui.call.addEventListener("click", () => (call ? endCall() : startCall()));
  ui.mute.addEventListener("click", () => {
    if (!call) return;
    const muted = !call.muted;
    ui.mute.setAttribute("aria-pressed", String(muted));
    call.setMuted(muted).catch((error) => app.notify(`The microphone could not be changed: ${error.message}`));
  });

  // -- frames from the server ----------------------------------------------------------------------

  app.socket.addEventListener("frame", ({ detail: frame }) => {
    switch (frame.type) {
      case "ready":
        tellServer(); // a new socket knows nothing of this page's choice
        break;
      case "audio":
        if (readAloud || call) player.play(frame.data);
        break;
      case "transcript":
        app.input.placeholder = "Message Samantha…";
        if (call) sendFromCall(frame.text);
        else intoInput(frame.text);
        break;
      case "error":
        if (!isVoiceError(frame)) break;
        app.input.placeholder = "Message Samantha…";
        if (call && (frame.code === "no_speech" || frame.code === "unclear_speech")) {
          showCall("listening"); // a cough or a door: the call goes on
          break;
        }
        app.notify(frame.message);
        break;
    }
  });

  fetch("api/voice")
    .then((response) => (response.ok ? response.json() : null))
    .then((found) => {
      if (!found) return;
      Object.assign(status, found);
      ui.toggle.hidden = !found.voice;
      ui.mic.hidden = !found.listen;
      ui.call.hidden = !(found.voice && found.listen && window.AudioWorkletNode);
      ui.toggle.setAttribute("aria-pressed", String(readAloud));
      tellServer();
    })
    .catch(() => {}); // an older server without voice: the controls stay hidden

  return {
    /** Stop her voice (the person sent a message, or pressed Stop). */
    silence() {
      player.stop();
      pending = null;
    },
    speaking: speakingNow,
  };
}
