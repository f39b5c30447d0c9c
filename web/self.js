// Who she is becoming with you (her self-model): each change she proposed, with why; keep it or undo it.
// Undone changes stay listed: the history of who she became is yours to see.

import { api } from "./api.js";
import { el } from "./render.js";

const STATUS = { proposed: "she proposed this", kept: "you kept this", undone: "you undid this" };

export class SelfView {
  constructor(list) {
    this.list = list;
  }

  /** Reload the changes from the server (quietly: the memory view says when the server is away). */
  async refresh() {
    let notes;
    try {
      notes = await api.selfModel();
    } catch {
      return;
    }
    this.list.replaceChildren(...notes.map((note) => this.item(note)));
    this.list.closest("section").hidden = notes.length === 0;
  }

  item(note) {
    const li = el("li", `self-note self-note--${note.status}`);
    li.append(el("p", "self-narration", note.narration), el("p", "self-text", note.text));
    li.append(el("p", "meta", STATUS[note.status] || note.status));
    if (note.status !== "kept") li.append(this.button("Keep", note, "kept"));
    if (note.status !== "undone") li.append(this.button("Undo", note, "undone"));
    return li;
  }

  button(label, note, status) {
    const button = el("button", "btn btn--quiet", label);
    button.type = "button";
    button.setAttribute("aria-label", `${label}: ${note.text}`);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api.decideSelf(note.id, status);
      } finally {
        await this.refresh();
      }
    });
    return button;
  }
}
