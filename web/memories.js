// The memory view: everything she remembers about you, searchable; forget one thing; export it all.

import { api } from "./api.js";
import { el, kindLabel, memoryText, when } from "./render.js";
import { authHeaders, getToken } from "./token.js";

const SEARCH_DELAY_MS = 250;
const CONFIRM_MS = 4000;

/**
 * Forget one memory through the API. The first press of `button` asks for a second press (forgetting
 * cannot be undone); returns the API's answer, or null while it is waiting for that second press.
 */
export async function forgetWithConfirm(id, button) {
  if (button.dataset.confirming !== "yes") {
    button.dataset.confirming = "yes";
    button.dataset.label = button.textContent;
    button.textContent = "Press again to forget";
    setTimeout(() => {
      if (button.isConnected && button.dataset.confirming === "yes") {
        button.dataset.confirming = "";
        button.textContent = button.dataset.label;
      }
    }, CONFIRM_MS);
    return null;
  }
  button.dataset.confirming = "";
  button.disabled = true;
  try {
    return await api.forget(id);
  } catch (error) {
    if (error.status === 404) return { forgotten: 0 }; // already gone (forgotten elsewhere)
    throw error;
  } finally {
    button.disabled = false;
    button.textContent = button.dataset.label;
  }
}

async function downloadExport(filename) {
  const response = await fetch("/api/export", { headers: authHeaders() });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export class MemoryView {
  /**
   * @param dialog the <dialog id="memories"> element
   * @param onForgotten called with (memory, count) after a memory is forgotten here
   */
  constructor(dialog, onForgotten) {
    this.dialog = dialog;
    this.onForgotten = onForgotten;
    this.list = dialog.querySelector("#memory-list");
    this.status = dialog.querySelector("#memory-status");
    this.search = dialog.querySelector("#memory-search");
    this.kind = dialog.querySelector("#memory-kind");
    this._timer = null;
    this._generation = 0;
    dialog.querySelector("#memory-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    this.search.addEventListener("input", () => {
      clearTimeout(this._timer);
      this._timer = setTimeout(() => this.load(), SEARCH_DELAY_MS);
    });
    this.kind.addEventListener("change", () => this.load());
    const exportLink = dialog.querySelector('a[href="/api/export"]');
    exportLink?.addEventListener("click", (event) => {
      if (!getToken()) return; // a plain link works when no token is needed
      event.preventDefault(); // a link cannot carry the token: fetch it, then hand the file over
      downloadExport(exportLink.getAttribute("download"));
    });
  }

  open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.search.focus();
    return this.load();
  }

  /** Fetch and show the memories matching the search box and the kind filter. */
  async load() {
    const generation = ++this._generation;
    const words = this.search.value;
    const query = /[\p{L}\p{N}]/u.test(words) ? words : "";
    this.list.setAttribute("aria-busy", "true");
    try {
      const memories = await api.memories({ q: query, kind: this.kind.value });
      if (generation !== this._generation) return; // a newer search has started
      this.render(memories, query);
    } catch (error) {
      if (generation === this._generation) this.say(`I couldn't load my memories: ${error.message}`);
    } finally {
      if (generation === this._generation) this.list.removeAttribute("aria-busy");
    }
  }

  render(memories, query) {
    this.list.replaceChildren(...memories.map((memory) => this.item(memory)));
    if (memories.length) {
      const things = memories.length === 1 ? "1 memory" : `${memories.length} memories`;
      this.say(query ? `${things} match “${query.trim()}”.` : `${things}, newest first.`);
    } else {
      this.say(query ? `Nothing matches “${query.trim()}”.` : "She doesn't remember anything about you yet.");
    }
  }

  item(memory) {
    const li = el("li", "memory");
    li.dataset.memoryId = String(memory.id);
    const { text, hers } = memoryText(memory.text);
    const head = el("p", "memory-head");
    const { day } = when(memory.created_at);
    head.append(el("span", `kind kind--${memory.kind}`, kindLabel(memory.kind, hers)), el("span", "memory-day", day));
    if (memory.valid_to) head.append(el("span", "tag", "superseded"));
    const words = el("p", "memory-text", text);
    words.id = `memory-${memory.id}`;
    const forget = el("button", "btn btn--quiet", "Forget");
    forget.type = "button";
    forget.setAttribute("aria-describedby", words.id); // "Forget", then which memory
    forget.addEventListener("click", () => this.forget(memory, forget, li));
    li.append(head, words, forget);
    return li;
  }

  async forget(memory, button, li) {
    let result;
    try {
      result = await forgetWithConfirm(memory.id, button);
    } catch (error) {
      this.say(`I couldn't forget that: ${error.message}`);
      return;
    }
    if (!result) return;
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    if (result.forgotten > 1) await this.load(); // what was learned from it went too
    const more = result.forgotten - 1;
    const also = more > 0 ? ` (and ${more} ${more === 1 ? "thing" : "things"} learned from it)` : "";
    this.say(result.forgotten ? `Forgotten${also}. She won't recall it again.` : "That was already forgotten.");
    ((next?.isConnected && next.querySelector("button")) || this.search).focus();
    this.onForgotten?.(memory, result.forgotten);
  }

  say(text) {
    this.status.textContent = text;
  }
}
