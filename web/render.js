// Building the page's pieces from text. Everything from the server or the person becomes text nodes:
// nothing here ever assigns HTML, so `<img src=x onerror=...>` shows up literally.

/** Create an element with a class and (optional) text content. */
export function el(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

// **strong** or *emphasis*: markers hug the words, so "2 * 3 * 4" stays as it is.
const INLINE = /\*\*(?=\S)([^*\n]*?\S)\*\*|\*(?=[^\s*])([^*\n]*?[^\s*])\*/g;
const BULLET = /^\s*[-*•]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;

/** Append `text` to `parent`, turning **strong** and *emphasis* into elements (as text inside). */
function appendInline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    parent.append(match[1] !== undefined ? el("strong", "", match[1]) : el("em", "", match[2]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** A paragraph whose single line breaks are kept. */
function paragraph(lines) {
  const p = el("p");
  lines.forEach((line, i) => {
    if (i > 0) p.append(el("br"));
    appendInline(p, line);
  });
  return p;
}

/**
 * Light, safe formatting for her replies: paragraphs (blank lines), line breaks, "- " and "1. " lists,
 * **strong** and *emphasis*. Returns a DocumentFragment made only of elements and text nodes.
 */
export function formatText(text) {
  const fragment = document.createDocumentFragment();
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n\s*\n/)) {
    let lines = [];
    let list = null;
    const flush = () => {
      if (lines.length) fragment.append(paragraph(lines));
      lines = [];
    };
    for (const line of block.split("\n")) {
      const bullet = BULLET.exec(line);
      const numbered = bullet ? null : NUMBERED.exec(line);
      const item = bullet || numbered;
      if (item) {
        const tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          flush();
          list = el(tag);
          fragment.append(list);
        }
        const li = el("li");
        appendInline(li, item[1]);
        list.append(li);
      } else if (line.trim()) {
        list = null;
        lines.push(line.trim());
      }
    }
    flush();
  }
  return fragment;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** "12 Mar 2025" (or "today") and "14:05" for an ISO timestamp; empty strings when it does not parse. */
export function when(iso) {
  const date = iso ? new Date(iso) : new Date();
  if (Number.isNaN(date.getTime())) return { day: "", time: "" };
  const today = new Date().toDateString() === date.toDateString();
  return { day: today ? "today" : dateFormat.format(date), time: timeFormat.format(date) };
}

/**
 * A message of the conversation: her reply or something the person said (a turn as the API gives it).
 * `stamp: false` leaves the time off (her greeting is not a stored message).
 */
export function messageEl(
  { role, text = "", created_at: createdAt = null, status = "complete", id = null },
  { stamp = true } = {},
) {
  const mine = role === "user";
  const li = el("li", `msg ${mine ? "msg--you" : "msg--her"}`);
  if (id !== null) li.dataset.turnId = String(id);
  const who = el("span", "sr-only", mine ? "You said:" : "Samantha said:");
  const bubble = el("div", "bubble");
  setBubbleText(bubble, text, mine);
  const meta = el("p", "meta");
  if (stamp) {
    const time = el("time", "", when(createdAt).time);
    if (createdAt) time.dateTime = createdAt;
    meta.append(time);
  }
  li.append(who, bubble, meta);
  if (status === "interrupted") markInterrupted(li, "stopped");
  return li;
}

/** Replace a bubble's contents: the person's words verbatim, hers lightly formatted. */
export function setBubbleText(bubble, text, verbatim = false) {
  if (verbatim) bubble.textContent = text;
  else bubble.replaceChildren(formatText(text));
}

/** Add a short note to a message's meta line ("stopped", "connection lost"). */
export function markInterrupted(li, why) {
  li.classList.add("msg--interrupted");
  li.querySelector(".meta").append(el("span", "tag", why));
}

const KINDS = {
  turn: "something you said",
  hers: "something she said",
  fact: "a fact about you",
  seed: "from the film reviews",
  reflection: "her journal",
  plan: "a plan of yours",
};

/** How a kind of memory reads to a person; a remembered reply of hers is "something she said". */
export function kindLabel(kind, hers = false) {
  return KINDS[kind === "turn" && hers ? "hers" : kind] || kind;
}

// Memories carry their day ("[2025-03-12] user: words", "[2025-03-12] The user's ..."), since that is
// what retrieval matches on; show the words, and the day beside them. "assistant:" marks her own words.
const DATED = /^\[(\d{4}-\d{2}-\d{2})\]\s+(?:(user|assistant):\s*)?([\s\S]*)$/;

/** The readable text of a memory, the day it is from ("today", "12 Mar 2025") when it has one, and
 * whether she said it. */
export function memoryText(text) {
  const match = DATED.exec(text);
  if (!match) return { text, day: null, hers: false };
  return { text: match[3], day: when(`${match[1]}T12:00:00`).day, hers: match[2] === "assistant" };
}

const PARTS = [
  ["dense", "meaning"],
  ["lexical", "shared words"],
  ["context", "said beside a match"],
  ["recency", "recency"],
  ["importance", "importance"],
];

/** A 0..1 number as a short bar with its value in text (the bar is decoration only). */
function meter(label, value) {
  const row = el("div", "why-part");
  const bar = el("span", "why-bar");
  bar.setAttribute("aria-hidden", "true");
  const fill = el("span", "why-fill");
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, value)) * 100)}%`;
  bar.append(fill);
  row.append(el("span", "why-label", label), bar, el("span", "why-value", value.toFixed(2)));
  return row;
}

/** One recalled memory: its words, its kind, and why (the score and its parts). */
function recalledItem(memory, onForget) {
  const li = el("li", "recall");
  li.dataset.memoryId = String(memory.id);
  const { text, day, hers } = memoryText(memory.text);
  const head = el("p", "recall-head");
  head.append(el("span", `kind kind--${memory.kind}`, kindLabel(memory.kind, hers)));
  if (day) head.append(el("span", "recall-day", day));
  head.append(el("span", "recall-score", `score ${memory.score.toFixed(2)}`));
  const why = el("div", "why");
  why.setAttribute("aria-label", "Why she recalled it");
  for (const [key, label] of PARTS) why.append(meter(label, memory.why[key] ?? 0));
  li.append(head, el("blockquote", "recall-text", text), why);
  if (memory.kind !== "seed" && onForget) {
    const forget = el("button", "link-btn", "Forget this");
    forget.type = "button";
    forget.addEventListener("click", () => onForget(memory.id, forget));
    li.append(forget);
  }
  return li;
}

/** The collapsed "what she recalled" panel under a reply. */
export function recalledEl(memories, onForget) {
  if (!memories.length) {
    return el("p", "recalled recalled--none", "She didn't recall anything for this.");
  }
  const details = el("details", "recalled");
  const things = memories.length === 1 ? "1 memory" : `${memories.length} memories`;
  details.append(el("summary", "", `What she recalled · ${things}`));
  const list = el("ol", "recall-list");
  for (const memory of memories) list.append(recalledItem(memory, onForget));
  details.append(list);
  return details;
}

/** Her persona card, shown at the top of every conversation. */
export function personaCard(persona) {
  const card = el("li", "persona");
  card.append(el("span", "avatar avatar--large"));
  card.firstChild.setAttribute("aria-hidden", "true");
  card.append(el("h2", "persona-name", persona.name));
  card.append(el("p", "persona-tagline", persona.tagline));
  const who = el("details", "persona-who");
  who.append(el("summary", "", "Who she is"), formatText(persona.system));
  card.append(who);
  const model = el("p", "persona-model");
  model.append("Running on ", el("strong", "", persona.model));
  if (persona.backend && persona.backend !== persona.model) model.append(` (${persona.backend})`);
  card.append(model);
  return card;
}
