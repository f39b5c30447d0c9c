// Past conversations: each with its first line and date; open one, or start a new one.

import { api } from "./api.js";
import { el, when } from "./render.js";

export class ConversationList {
  /**
   * @param dialog the <dialog id="conversations"> element
   * @param current returns the id of the conversation on screen
   * @param onOpen called with a conversation id to reopen (null: a new conversation)
   */
  constructor(dialog, current, onOpen) {
    this.dialog = dialog;
    this.current = current;
    this.onOpen = onOpen;
    this.list = dialog.querySelector("#conversation-list");
    this.status = dialog.querySelector("#conversation-status");
    dialog.querySelector("#conversation-new").addEventListener("click", () => this.choose(null));
  }

  async open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.status.textContent = "Loading…";
    try {
      this.render(await api.conversations());
    } catch (error) {
      this.status.textContent = `I couldn't load our conversations: ${error.message}`;
    }
  }

  render(conversations) {
    const current = this.current();
    this.list.replaceChildren(...conversations.map((c) => this.item(c, c.id === current)));
    this.status.textContent = conversations.length
      ? ""
      : "No conversations yet. Say something and this one will be kept here.";
    const focus = this.list.querySelector("[aria-current]") || this.list.querySelector("button");
    focus?.focus();
  }

  item(conversation, isCurrent) {
    const li = el("li");
    const button = el("button", "conversation");
    button.type = "button";
    if (isCurrent) button.setAttribute("aria-current", "true");
    const { day, time } = when(conversation.created_at);
    const messages = conversation.turns === 1 ? "1 message" : `${conversation.turns} messages`;
    button.append(
      el("span", "conversation-title", conversation.title || "(nothing said yet)"),
      el("span", "conversation-meta", `${day}, ${time} · ${messages}${isCurrent ? " · open now" : ""}`),
    );
    button.addEventListener("click", () => this.choose(conversation.id));
    li.append(button);
    return li;
  }

  choose(id) {
    this.dialog.close();
    this.onOpen(id);
  }
}
