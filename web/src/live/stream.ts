/**
 * Following GET /api/v1/events, the caller's server-sent events. The endpoint wants the bearer
 * access token, which EventSource cannot send, so the stream is read with fetch and parsed by
 * ./sse.ts. The connection is kept: when the stream ends or breaks it is opened again, with
 * `Last-Event-ID` so that nothing in between is missed.
 */
import { fetchWithPosition } from "../api/position";
import { accessToken, getSession, refresh, signOut } from "../auth/session";
import { type SseHandlers, SseParser } from "./sse";

export const EVENTS_URL = "/api/v1/events";

export type LiveEventKind =
  | "offer_created"
  | "offer_withdrawn"
  | "offer_accepted"
  | "offer_rejected"
  | "cleaning_removed"
  | "job_cancelled"
  | "evaluation_created";

/** One event of the stream (the API's EventRead). */
export type LiveEvent = {
  id: number;
  kind: LiveEventKind;
  cleaningId: number;
  cleaningName: string;
  /** The username of who did it. */
  by: string;
  createdAt: string;
};

const KINDS: readonly string[] = [
  "offer_created",
  "offer_withdrawn",
  "offer_accepted",
  "offer_rejected",
  "cleaning_removed",
  "job_cancelled",
  "evaluation_created",
] satisfies LiveEventKind[];

// Until the server says otherwise (its `retry:`), then doubled on each failure up to the cap.
const DEFAULT_RETRY_MS = 3000;
const MAX_RETRY_MS = 30_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The event in a message's data; null when it is not one this client knows. */
export function readLiveEvent(data: string): LiveEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(value) || !isRecord(value.data)) return null;
  const { id, kind, created_at: createdAt } = value;
  const { cleaning_id: cleaningId, cleaning_name: cleaningName, by } = value.data;
  if (
    typeof id !== "number" ||
    typeof kind !== "string" ||
    !KINDS.includes(kind) ||
    typeof cleaningId !== "number" ||
    typeof cleaningName !== "string" ||
    typeof by !== "string" ||
    typeof createdAt !== "string"
  ) {
    return null;
  }
  return { id, kind: kind as LiveEventKind, cleaningId, cleaningName, by, createdAt };
}

/** How long to wait before the next connection: the server's retry, doubled per failure. */
export function reconnectDelay(retryMs: number, failures: number): number {
  const base = Math.min(retryMs * 2 ** Math.max(0, failures - 1), MAX_RETRY_MS);
  // Up to 20% less, at random: clients that lost one server do not all come back at once.
  return Math.max(0, base * (1 - Math.random() * 0.2));
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, milliseconds);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Read one response's stream to its end; whether any text came. */
async function readStream(
  body: ReadableStream<BufferSource>,
  parser: SseParser,
  signal: AbortSignal,
): Promise<boolean> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener("abort", cancel, { once: true });
  let received = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return received;
      received = true;
      parser.push(value);
    }
  } catch {
    return received;
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/**
 * Follow the caller's events until `signal` aborts or the session ends, calling `onEvent` once
 * per event (an event sent again after a reconnection is skipped by its id).
 */
export async function followEvents({
  signal,
  onEvent,
}: {
  signal: AbortSignal;
  onEvent: (event: LiveEvent) => void;
}): Promise<void> {
  let retryMs = DEFAULT_RETRY_MS;
  let lastEventId = "";
  let newestId = 0;
  let failures = 0;
  const handlers: SseHandlers = {
    onRetry: (milliseconds) => {
      retryMs = milliseconds;
    },
    onMessage: (message) => {
      lastEventId = message.lastEventId;
      const event = readLiveEvent(message.data);
      if (event === null || event.id <= newestId) return;
      newestId = event.id;
      onEvent(event);
    },
  };

  while (!signal.aborted) {
    const token = accessToken();
    if (token === null) return; // logged out
    const headers = new Headers({ Accept: "text/event-stream", Authorization: `Bearer ${token}` });
    if (lastEventId !== "") headers.set("Last-Event-ID", lastEventId);
    let received = false;
    let waitFirst = true;
    try {
      const url = new URL(EVENTS_URL, globalThis.location.origin);
      const response = await fetchWithPosition(url, { headers, signal, cache: "no-store" });
      if (response.status === 401) {
        // The access token expired (the stream ends when it does) or its session ended.
        await response.body?.cancel();
        const outcome = await refresh();
        if (outcome === "refused") {
          if (getSession().status === "authenticated") signOut("expired");
          return;
        }
        if (outcome === "unreachable") throw new TypeError("the server could not be reached");
        // A fresh token: at once, unless the last try was already a refused one.
        waitFirst = failures > 0;
      } else if (response.ok && response.body) {
        // A new parser per connection: a message cut off by a broken one is dropped.
        const parser = new SseParser(handlers, lastEventId);
        received = await readStream(response.body, parser, signal);
      } else {
        await response.body?.cancel();
      }
    } catch {
      // Offline, or the server is away: try again later. An abort ends the loop below.
    }
    // A stream that delivered something was a good connection: the next one waits the
    // server's retry only. One that failed at once waits longer each time.
    failures = received ? 0 : failures + 1;
    if (waitFirst) await sleep(reconnectDelay(retryMs, failures), signal);
  }
}
