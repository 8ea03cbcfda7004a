// The web tool talks only to the public API: fetch + the brand's API key as a Bearer token.
// The key lives in sessionStorage: it is gone when the tab closes.

const KEY_NAME = "proactive.apiKey";

export const session = {
  key: () => sessionStorage.getItem(KEY_NAME),
  signIn: (key) => sessionStorage.setItem(KEY_NAME, key),
  signOut: () => sessionStorage.removeItem(KEY_NAME),
};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || (body && body.message) || `the server answered ${status}`);
    this.status = status;
    this.code = error.code || "";
    this.details = error.details || [];
    // API Gateway answers a route that does not exist with ROUTE_NOT_FOUND (our gateway
    // responses; the local server too, and 405 METHOD_NOT_ALLOWED for a method a path lacks);
    // a server without them with 403 "Missing Authentication Token" (or 404/405) without our
    // {"error": ...} body: that part of the API is not on this server (yet).
    this.missing = [403, 404, 405].includes(status) &&
      (!body?.error || ["ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED"].includes(this.code));
  }
}

export function url(path) {
  return new URL(path.replace(/^\//, ""), document.baseURI).toString();
}

export async function api(method, path, { json, text, contentType, key } = {}) {
  const headers = {};
  const secret = key || session.key();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  let body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    headers["Content-Type"] = "application/json";
  } else if (text !== undefined) {
    body = text;
    headers["Content-Type"] = contentType || "text/plain";
  }
  let response;
  try {
    response = await fetch(url(path), { method, headers, body });
  } catch (err) {
    throw new ApiError(0, { error: { code: "NETWORK", message: `the server could not be reached (${err.message})` } });
  }
  const type = response.headers.get("content-type") || "";
  let data = null;
  if (type.includes("json")) {
    data = await response.json().catch(() => null);
  } else {
    data = await response.text();
  }
  if (!response.ok) {
    const error = new ApiError(response.status, typeof data === "object" ? data : null);
    if (response.status === 401 && !key) {
      window.dispatchEvent(new CustomEvent("signed-out", { detail: error.message }));
    }
    throw error;
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, json) => api("POST", path, { json });

// Downloads need the Bearer key, so they go through fetch and a temporary object URL.
export async function download(path, filename) {
  const response = await fetch(url(path), { headers: { Authorization: `Bearer ${session.key()}` } });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, body);
  }
  const link = document.createElement("a");
  if ((response.headers.get("content-type") || "").includes("json")) {
    // A large export is answered with a pre-signed link ({url, method, filename, ...}) to a
    // file that names itself (Content-Disposition): the browser downloads it from there.
    const answer = await response.json();
    link.href = answer.url;
    link.download = answer.filename || filename;
  } else {
    link.href = URL.createObjectURL(await response.blob());
    link.download = filename;
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }
  document.body.append(link);
  link.click();
  link.remove();
}

// A CSV answered in pages (X-Next-Cursor, e.g. GET /optouts?format=csv past 50,000 rows): every
// page, joined under the first page's header line, as one file.
export async function downloadPages(path, filename) {
  const parts = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const response = await fetch(url(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path),
      { headers: { Authorization: `Bearer ${session.key()}` } });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch { /* not JSON */ }
      throw new ApiError(response.status, body);
    }
    const text = await response.text();
    parts.push(parts.length ? text.slice(text.indexOf("\n") + 1) : text);
    cursor = response.headers.get("x-next-cursor");
  } while (cursor);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// Items of a list answer: the API's {items: [...]} or a bare array.
export function itemsOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const key of ["items", ...keys]) {
    if (data && Array.isArray(data[key])) return data[key];
  }
  return [];
}
