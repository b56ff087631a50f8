// api.js - the REST API as the dashboard uses it: JSON in and out, the
// bearer token when one is set, and errors that say what failed.
"use strict";

const TOKEN_KEY = "oryx-token";

export class ApiError extends Error {
  constructor(path, status, message) {
    super(`${path}: ${message}`);
    this.path = path;
    this.status = status;
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

// Listeners told when the API refuses us for want of a token (401/403).
const authListeners = [];
export function onAuthNeeded(fn) { authListeners.push(fn); }

async function call(method, path, body) {
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, cache: "no-store",
                            body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(path, 0, "cannot reach the appliance (" + e.message + ")");
  }
  return r;
}

async function json(method, path, body) {
  const sentWith = token();
  const r = await call(method, path, body);
  let data;
  try { data = await r.json(); } catch {
    throw new ApiError(path, r.status, `HTTP ${r.status}: the answer is not JSON`);
  }
  if (!r.ok) {
    // Only a refusal of the token in use now asks for one: a request sent
    // before the operator gave it can be answered after.
    if ((r.status === 401 || r.status === 403) && sentWith === token())
      authListeners.forEach((fn) => fn(data.error));
    throw new ApiError(path, r.status, (data && data.error) || `HTTP ${r.status}`);
  }
  return data;
}

export const get = (path) => json("GET", path);
export const post = (path, body) => json("POST", path, body === undefined ? {} : body);
export const del = (path) => json("DELETE", path);

// A file from the API (a capture's pcapng) saved through the browser;
// fetched rather than linked so that the token goes with it.
export async function download(path, filename) {
  const r = await call("GET", path);
  if (!r.ok) {
    let message = `HTTP ${r.status}`;
    try { message = (await r.json()).error || message; } catch { /* not JSON */ }
    throw new ApiError(path, r.status, message);
  }
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
