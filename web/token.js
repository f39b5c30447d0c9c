// The access token, when the server has accounts (docs/SECURITY.md). On one person's own machine there
// is none and nothing here asks for one; otherwise the page asks once and keeps it in this browser.

const KEY = "samantha.token";

/** The stored token, or null. */
export function getToken() {
  return localStorage.getItem(KEY);
}

/** Ask the person for their token (after the server refused); false when they would not give one. */
export function askForToken(reason) {
  const token = window.prompt(
    `${reason}\n\nPaste the access token you were given (samantha user add NAME prints one):`,
  );
  if (!token || !token.trim()) return false;
  localStorage.setItem(KEY, token.trim());
  return true;
}

/** Headers that carry the token, if there is one. */
export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
