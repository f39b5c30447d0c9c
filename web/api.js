// The small JSON endpoints the page reads (see the OpenAPI schema at /docs).

import { askForToken, authHeaders } from "./token.js";

/** An error that carries a sentence fit to show a person. */
export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

async function request(path, options = {}, retried = false) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json", ...authHeaders() }, ...options });
  } catch {
    throw new ApiError("I can't reach the server right now.");
  }
  if (response.status === 401 && !retried && askForToken("This Samantha needs your access token.")) {
    return request(path, options, true);
  }
  if (!response.ok) {
    let detail = "";
    try {
      detail = (await response.json()).detail;
    } catch {
      // no JSON body: the status says enough
    }
    throw new ApiError(typeof detail === "string" && detail ? detail : `HTTP ${response.status}`, response.status);
  }
  return response.json();
}

export const api = {
  persona: () => request("/api/persona"),
  conversations: () => request("/api/conversations"),
  turns: (id) => request(`/api/conversations/${encodeURIComponent(id)}/turns`),
  memories: ({ q = "", kind = "" } = {}) => {
    const params = new URLSearchParams();
    if (q.trim()) params.set("q", q.trim());
    if (kind) params.set("kind", kind);
    return request(`/api/memories?${params}`);
  },
  forget: (id) => request(`/api/memories/${encodeURIComponent(id)}`, { method: "DELETE" }),
  selfModel: () => request("/api/self"),
  decideSelf: (id, status) =>
    request(`/api/self/${encodeURIComponent(id)}`, {
      method: "POST",
      body: JSON.stringify({ status }),
      headers: { Accept: "application/json", "Content-Type": "application/json", ...authHeaders() },
    }),
};
