// Page-wide helpers: notices, screen-reader announcements, scrolling, the growing message box, dialogs.

const $ = (id) => document.getElementById(id);

let noticeTimer = null;
/** A short message above the message box (errors, "not connected yet"); it fades after a while. */
export function notify(text, ms = 8000) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.hidden = true), ms);
}

export function clearNotice() {
  $("notice").hidden = true;
}

/** Tell screen readers about a new message (the log itself is not a live region: it streams). */
export function announce(text) {
  const announcer = $("announcer");
  announcer.textContent = "";
  setTimeout(() => (announcer.textContent = text), 60); // a change, even when the text repeats
}

const nearBottom = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;

/** Follow the conversation down, unless the person has scrolled up to read (or `force`). */
export function scrollToEnd(force = false) {
  if (force || nearBottom()) window.scrollTo({ top: document.documentElement.scrollHeight });
}

/** Grow the message box with its text, up to a limit (then it scrolls). */
export function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
}

/** Dialogs close from their close buttons and from a click on the backdrop (Escape is built in). */
export function wireDialogs() {
  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.addEventListener("click", (event) => event.target === dialog && dialog.close());
    for (const close of dialog.querySelectorAll("[data-close]")) {
      close.addEventListener("click", () => dialog.close());
    }
  }
}
