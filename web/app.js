// The page: one conversation with Samantha over the chat socket, with what she recalled under each
// reply. Panels (conversations, memories) and voice live in their own modules.

import { api } from "./api.js";
import { ConversationList } from "./conversations.js";
import { forgetWithConfirm, MemoryView } from "./memories.js";
import { el, markInterrupted, messageEl, personaCard, recalledEl, setBubbleText } from "./render.js";
import { announce, autosize, clearNotice, notify, scrollToEnd, wireDialogs } from "./page.js";
import { SelfView } from "./self.js";
import { ChatSocket } from "./socket.js";
import { isVoiceError, setupVoice } from "./voice.js";

const CONVERSATION_KEY = "samantha.conversation";
const $ = (id) => document.getElementById(id);
const ui = {
  log: $("log"),
  form: $("composer"),
  input: $("message"),
  send: $("send"),
  stop: $("stop"),
  status: $("status"),
  name: $("persona-name"),
};

const state = {
  conversation: localStorage.getItem(CONVERSATION_KEY),
  persona: null,
  greeting: "",
  loading: true, // the conversation's history is not on screen yet
  needsHistory: true,
  turn: null, // the reply in progress: {you, her, bubble, text, sent, frame}
  pendingOpen: undefined, // a conversation to open once the reply in progress has stopped
  historyGeneration: 0,
};

const socket = new ChatSocket(
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`,
  () => state.conversation,
);
const voice = setupVoice(
  { toggle: $("voice-toggle"), mic: $("mic"), call: $("call"), mute: $("mute"), callState: $("call-state") },
  { socket, notify, input: ui.input, send: (text) => send(text), stop: () => stop(), busy: () => !!state.turn },
);
// Forgetting something said also takes it out of the conversation log, so its message is marked too.
const memoryView = new MemoryView($("memories"), (memory) =>
  markForgotten(memory.id, memory.kind === "turn" ? memory.source_turns : []),
);
const conversationList = new ConversationList($("conversations"), () => state.conversation, openConversation);

// -- connection and controls -----------------------------------------------------------------------

function updateControls() {
  const streaming = state.turn !== null;
  ui.send.hidden = streaming;
  ui.stop.hidden = !streaming;
  ui.send.disabled = !socket.connected || state.loading;
  if (!streaming && document.activeElement === document.body) ui.input.focus();
}

const STATES = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
};
function showState({ state: name, delayMs }) {
  ui.status.dataset.state = name;
  const seconds = Math.max(1, Math.ceil(delayMs / 1000));
  ui.status.textContent = name === "reconnecting" && delayMs ? `Reconnecting in ${seconds} s…` : STATES[name];
  if (name !== "connected" && state.turn) {
    markInterrupted(state.turn.her, "connection lost");
    endTurn();
  }
  updateControls();
}

// -- the conversation on screen ---------------------------------------------------------------------

/** Clear the log down to her card and greeting (unless the conversation already holds it, stored). */
function resetLog(turns = []) {
  ui.log.replaceChildren();
  if (state.persona) ui.log.append(personaCard(state.persona));
  const greeting = state.greeting || state.persona?.greeting;
  const stored = turns.some((t) => t.role === "assistant" && t.text === greeting);
  if (greeting && !stored) ui.log.append(messageEl({ role: "assistant", text: greeting }, { stamp: false }));
}

async function showHistory(conversation) {
  const generation = ++state.historyGeneration;
  state.loading = true;
  updateControls();
  try {
    const turns = await api.turns(conversation);
    if (generation !== state.historyGeneration) return;
    resetLog(turns);
    for (const turn of turns) ui.log.append(messageEl(turn));
  } catch (error) {
    if (generation !== state.historyGeneration) return;
    resetLog();
    notify(`I couldn't load this conversation: ${error.message}`);
  }
  state.loading = false;
  updateControls();
  scrollToEnd(true);
}

/** Switch to another conversation (null: a new one); a reply in progress is stopped first. */
function openConversation(id) {
  if (state.turn) {
    state.pendingOpen = id;
    stop();
    return;
  }
  state.conversation = id;
  state.needsHistory = true;
  state.loading = true;
  if (id) localStorage.setItem(CONVERSATION_KEY, id);
  else localStorage.removeItem(CONVERSATION_KEY);
  resetLog();
  socket.hello(id); // when offline, the next connection says hello with it
  updateControls();
  ui.input.focus();
}

/** Mark a forgotten memory wherever it shows, and the messages it came from. */
function markForgotten(id, sourceTurns = []) {
  for (const item of ui.log.querySelectorAll(`.recall[data-memory-id="${CSS.escape(String(id))}"]`)) {
    item.classList.add("recall--forgotten");
    item.querySelector("button")?.replaceWith(el("p", "forgotten-note", "Forgotten. She won't recall it again."));
  }
  for (const turn of sourceTurns) {
    const message = ui.log.querySelector(`.msg[data-turn-id="${CSS.escape(String(turn))}"]`);
    if (message && !message.classList.contains("msg--forgotten")) {
      message.classList.add("msg--forgotten");
      message.querySelector(".meta").append(el("span", "tag", "forgotten"));
    }
  }
}

async function forgetFromPanel(id, button) {
  try {
    const result = await forgetWithConfirm(id, button);
    if (!result) return;
    markForgotten(id);
    announce("Forgotten. She won't recall it again.");
  } catch (error) {
    notify(`I couldn't forget that: ${error.message}`);
  }
}

// -- one turn: send, stream, stop -------------------------------------------------------------------

function send(text) {
  if (!text.trim()) return false;
  if (state.turn) {
    notify("She's still answering. Press Stop, or wait a moment.", 4000);
    return false;
  }
  if (!socket.connected || state.loading) {
    notify("I'm not connected yet; your message is kept in the box.", 4000);
    return false;
  }
  voice.silence();
  clearNotice();
  const you = messageEl({ role: "user", text });
  const her = messageEl({ role: "assistant" });
  her.classList.add("msg--streaming");
  ui.log.append(you, her);
  state.turn = { you, her, bubble: her.querySelector(".bubble"), text: "", sent: text, frame: 0 };
  socket.send({ type: "user", text });
  updateControls();
  scrollToEnd(true);
  return true;
}

function stop() {
  if (!state.turn) return;
  voice.silence();
  if (!socket.send({ type: "cancel" })) {
    markInterrupted(state.turn.her, "stopped");
    endTurn();
  }
}

function endTurn() {
  const turn = state.turn;
  cancelAnimationFrame(turn.frame);
  turn.her.classList.remove("msg--streaming");
  if (!turn.text) turn.bubble.replaceChildren(el("p", "quiet", "(no reply)"));
  state.turn = null;
  updateControls();
  if (state.pendingOpen !== undefined) {
    const id = state.pendingOpen;
    state.pendingOpen = undefined;
    openConversation(id);
  }
}

/** Re-render the streaming reply at most once per animation frame. */
function paintReply() {
  const turn = state.turn;
  if (!turn || turn.frame) return;
  turn.frame = requestAnimationFrame(() => {
    turn.frame = 0;
    setBubbleText(turn.bubble, turn.text);
    scrollToEnd();
  });
}

/** Her mood with its cause, beside her name (hidden while she is simply calm). */
function showMood(mood) {
  const box = document.getElementById("mood");
  box.hidden = !mood;
  if (!mood) return;
  box.dataset.mood = mood.word;
  box.textContent = `Feeling ${mood.word}`;
  box.title = `Why: ${mood.cause}`;
  box.append(el("span", "sr-only", ` because ${mood.cause}`));
}

function onFrame(frame) {
  const turn = state.turn;
  if (frame.type === "ready" || frame.type === "recalled") showMood(frame.mood);
  switch (frame.type) {
    case "ready":
      state.greeting = frame.greeting;
      ui.name.textContent = frame.persona;
      if (state.needsHistory || frame.conversation !== state.conversation) {
        state.needsHistory = false;
        state.conversation = frame.conversation;
        localStorage.setItem(CONVERSATION_KEY, frame.conversation);
        showHistory(frame.conversation);
      }
      break;
    case "recalled":
      if (turn) turn.her.querySelector(".meta").after(recalledEl(frame.memories, forgetFromPanel));
      break;
    case "delta":
      if (!turn) break;
      turn.text += frame.text;
      paintReply();
      break;
    case "done":
      if (!turn) break;
      turn.text = frame.text;
      cancelAnimationFrame(turn.frame);
      setBubbleText(turn.bubble, frame.text);
      turn.you.dataset.turnId = String(frame.user_turn_id);
      if (frame.turn_id) turn.her.dataset.turnId = String(frame.turn_id);
      if (frame.interrupted) markInterrupted(turn.her, "stopped");
      announce(`Samantha: ${frame.text}`);
      endTurn();
      scrollToEnd();
      break;
    case "error":
      if (isVoiceError(frame)) break; // voice.js shows those; they never end a turn
      if (turn) showTurnError(turn, frame);
      else notify(frame.message);
      break;
    case "proactive": {
      // She wrote first (a follow-up, a check-in): already stored as her turn on the server.
      const stamp = new Date().toISOString();
      const li = messageEl({ role: "assistant", text: frame.text, id: frame.turn_id, created_at: stamp });
      li.classList.add("msg--proactive");
      li.querySelector(".meta").append(el("span", "tag", "she wrote first"));
      ui.log.append(li);
      announce(`Samantha: ${frame.text}`);
      scrollToEnd();
      break;
    }
  }
}

/** The backend failed: say so under her (partial) reply; the person's message stays, ready to resend. */
function showTurnError(turn, frame) {
  if (frame.user_turn_id) turn.you.dataset.turnId = String(frame.user_turn_id);
  turn.her.classList.add("msg--error");
  const box = el("div", "turn-error");
  box.setAttribute("role", "alert");
  box.append(el("p", "", `She couldn't answer just now: ${frame.message}`));
  const again = el("button", "btn btn--quiet", "Send it again");
  again.type = "button";
  again.addEventListener("click", () => {
    if (send(turn.sent)) again.disabled = true;
  });
  box.append(again);
  turn.bubble.after(box);
  endTurn();
}

// -- wiring -----------------------------------------------------------------------------------------

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (send(ui.input.value)) {
    ui.input.value = "";
    autosize(ui.input);
  }
  ui.input.focus();
});
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  } else if (event.key === "Escape" && state.turn) {
    stop();
  }
});
ui.input.addEventListener("input", () => autosize(ui.input));
ui.stop.addEventListener("click", stop);
$("new-chat").addEventListener("click", () => openConversation(null));
$("open-conversations").addEventListener("click", () => conversationList.open());
const selfView = new SelfView($("self-list"));
$("open-memories").addEventListener("click", () => {
  memoryView.open();
  selfView.refresh();
});
wireDialogs();

socket.addEventListener("state", (event) => showState(event.detail));
socket.addEventListener("frame", (event) => onFrame(event.detail));
socket.connect();
api
  .persona()
  .then((persona) => {
    state.persona = persona;
    ui.name.textContent = persona.name;
    ui.status.title = `Running on ${persona.model}`;
    if (!ui.log.querySelector(".persona")) ui.log.prepend(personaCard(persona));
  })
  .catch(() => {}); // the card is a nicety; the chat works without it
ui.input.focus();
