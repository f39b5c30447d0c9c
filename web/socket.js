// The chat socket (docs/PROTOCOL.md): say hello on every (re)connect, reconnect with backoff when the
// server goes away, and hand every frame to the page as an event. It knows nothing about the DOM.

import { askForToken, getToken } from "./token.js";

const FIRST_RETRY_MS = 500;
const POLICY_VIOLATION = 1008; // the server refused the token
const MAX_RETRY_MS = 10000;
const PING_EVERY_MS = 25000;

/**
 * Events: "state" (detail: {state, attempt, delayMs}) where state is connecting | connected |
 * reconnecting, and "frame" (detail: the server frame). `conversation()` is asked for the id to
 * reopen each time the socket says hello.
 */
export class ChatSocket extends EventTarget {
  constructor(url, conversation) {
    super();
    this.url = url;
    this.conversation = conversation;
    this.ws = null;
    this.attempt = 0;
    this.state = "connecting";
    this._retry = null;
    this._ping = null;
    window.addEventListener("online", () => this.retryNow());
  }

  /** Open the socket (again). */
  connect() {
    clearTimeout(this._retry);
    this._retry = null;
    this._setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (error) {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => this.hello(this.conversation()));
    ws.addEventListener("message", (event) => this._receive(event.data));
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this._ping);
      if (event.code === POLICY_VIOLATION && askForToken(event.reason || "Samantha needs your access token.")) {
        this.attempt = 0;
        this.connect();
        return;
      }
      this._scheduleRetry();
    });
  }

  /** Open (or switch to) a conversation; null asks the server for a new one. */
  hello(conversation) {
    return this.send({ type: "hello", conversation: conversation || null, token: getToken() });
  }

  /** Send a recording (a binary frame: docs/PROTOCOL.md, "Voice"); false when the socket is closed. */
  sendBytes(data) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(data);
    return true;
  }

  /** Send a frame; false when there is no open socket to send it on. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  get connected() {
    return this.state === "connected";
  }

  /** Skip the rest of the wait before the next attempt (e.g. the network came back). */
  retryNow() {
    if (this._retry !== null) this.connect();
  }

  _receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // not ours to show: the server only sends JSON
    }
    if (frame.type === "ready") {
      this.attempt = 0;
      this._setState("connected");
      clearInterval(this._ping);
      this._ping = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
    }
    this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
  }

  _scheduleRetry() {
    // 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s; jitter so many tabs do not knock at once.
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    const delayMs = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this._setState("reconnecting", delayMs);
    this._retry = setTimeout(() => this.connect(), delayMs);
  }

  _setState(state, delayMs = 0) {
    this.state = state;
    const detail = { state, attempt: this.attempt, delayMs };
    this.dispatchEvent(new CustomEvent("state", { detail }));
  }
}
