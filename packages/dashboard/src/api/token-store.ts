/**
 * The token the page sends as `Authorization: Bearer`, kept in the tab's sessionStorage only (docs/protocol.md
 * §12): it lasts while the tab is open, is not shared with other tabs and is never written to localStorage or
 * a cookie. Listeners hear each change, so the page asks again when a route refuses the token.
 */

const STORAGE_KEY = "mailroom.dashboard.token";

type Listener = () => void;
const listeners = new Set<Listener>();

export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    // Storage refused (a locked-down browser): the page works for this load without keeping the token.
    return memoryToken;
  }
}

let memoryToken: string | undefined;

export function storeToken(token: string): void {
  memoryToken = token;
  try {
    sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Kept in memory only, see storedToken.
  }
  notify();
}

export function forgetToken(): void {
  memoryToken = undefined;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing was stored.
  }
  notify();
}

/** Calls `listener` after each change of the token; returns what stops it. */
export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of listeners) listener();
}
