/**
 * The browser's session. The access token lives in this module's memory only; the refresh token
 * is an HttpOnly cookie (scoped to /api/v1/auth) that JavaScript never sees. The header
 * `X-Phresh-Client: web` asks the API for that cookie and is required to refresh from it, so a
 * cross-site form cannot. Refreshes go one at a time, in this tab and across the tabs of the
 * browser (a Web Lock where the browser has them): rotation makes each refresh token single
 * use, and the same cookie presented twice would end the session as a reuse. Every request
 * goes through ../api/position.ts, so that reads see this browser's own writes.
 */

import { fetchWithPosition } from "../api/position";

export const CLIENT_HEADER = { "X-Phresh-Client": "web" } as const;
const TOKEN_URL = "/api/v1/auth/token";

export type SessionState =
  | { status: "unknown" }
  | { status: "anonymous"; reason: "logged-out" | "expired" | "none" }
  | { status: "authenticated"; token: string };

type Listener = () => void;

let state: SessionState = { status: "unknown" };
const listeners = new Set<Listener>();
let refreshing: Promise<RefreshOutcome> | null = null;

function setState(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function getSession(): SessionState {
  return state;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function accessToken(): string | null {
  return state.status === "authenticated" ? state.token : null;
}

/** Store the access token of a login, a registration or a refresh. */
export function signIn(token: string): void {
  setState({ status: "authenticated", token });
}

/** Forget the access token (the server session was ended, or refused). */
export function signOut(reason: "logged-out" | "expired" | "none"): void {
  setState({ status: "anonymous", reason });
}

/** What a refresh came to: a new token, a refusal (no session), or no answer at all. */
export type RefreshOutcome = "ok" | "refused" | "unreachable";

async function refreshRequest(): Promise<RefreshOutcome> {
  const body = new URLSearchParams({ grant_type: "refresh_token" });
  try {
    const response = await fetchWithPosition(TOKEN_URL, {
      method: "POST",
      headers: CLIENT_HEADER,
      body,
      credentials: "same-origin",
    });
    if (response.status === 401) return "refused";
    if (!response.ok) return "unreachable";
    const token = (await response.json()) as { access_token: string };
    signIn(token.access_token);
    return "ok";
  } catch {
    return "unreachable";
  }
}

async function refreshAcrossTabs(): Promise<RefreshOutcome> {
  // Another tab holding the lock is rotating the cookie: this one then sends the new one.
  const locks = globalThis.navigator?.locks;
  return locks ? await locks.request("phresh-refresh", refreshRequest) : refreshRequest();
}

/** Trade the refresh cookie for a new access token; one request at a time. */
export function refresh(): Promise<RefreshOutcome> {
  refreshing ??= refreshAcrossTabs().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** At start: a reload keeps you logged in when the refresh cookie is still good. */
export async function restore(): Promise<void> {
  if ((await refresh()) !== "ok") signOut("none");
}

function withToken(request: Request, token: string | null): Request {
  const headers = new Headers(request.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}

/**
 * The API client's fetch: adds the access token; on a 401 with a token it refreshes once and
 * retries; when the refresh is refused too, the session has expired.
 */
export async function authFetch(request: Request): Promise<Response> {
  const token = accessToken();
  const retry = request.clone();
  const response = await fetchWithPosition(withToken(request, token));
  // The auth endpoints' own 401s (a wrong password, a used link) are answers, not expiry.
  if (response.status !== 401 || token === null || isAuthEndpoint(request)) return response;
  // Another request may have renewed the token meanwhile: use it, do not rotate again.
  if (accessToken() !== token && accessToken() !== null) {
    return fetchWithPosition(withToken(retry, accessToken()));
  }
  const outcome = await refresh();
  if (outcome === "ok") return fetchWithPosition(withToken(retry, accessToken()));
  // Only a refusal ends the session here; with no answer the request's 401 stands.
  if (outcome === "refused" && getSession().status === "authenticated") signOut("expired");
  return response;
}

function isAuthEndpoint(request: Request): boolean {
  return new URL(request.url).pathname.startsWith("/api/v1/auth/");
}
