import { afterEach, describe, expect, it, vi } from "vitest";
import {
  COMMIT_POSITION_HEADER,
  fetchWithPosition,
  forgetPositions,
  READ_AFTER_HEADER,
} from "../api/position";
import { getSession, signIn } from "../auth/session";
import { followEvents, readLiveEvent, reconnectDelay } from "./stream";

afterEach(() => {
  vi.unstubAllGlobals();
  forgetPositions();
});

const EVENT = {
  id: 7,
  kind: "offer_created",
  cleaning_id: 5,
  data: { cleaning_id: 5, cleaning_name: "Kitchen deep clean", by: "bob" },
  created_at: "2026-11-24T10:00:00Z",
};

describe("readLiveEvent", () => {
  it("reads the API's event", () => {
    expect(readLiveEvent(JSON.stringify(EVENT))).toEqual({
      id: 7,
      kind: "offer_created",
      cleaningId: 5,
      cleaningName: "Kitchen deep clean",
      by: "bob",
      createdAt: "2026-11-24T10:00:00Z",
    });
  });

  it("drops what it cannot read: bad JSON, an unknown kind, a missing field", () => {
    expect(readLiveEvent("{not json")).toBeNull();
    expect(readLiveEvent(JSON.stringify({ ...EVENT, kind: "party" }))).toBeNull();
    expect(readLiveEvent(JSON.stringify({ ...EVENT, data: { cleaning_id: 5 } }))).toBeNull();
  });
});

describe("reconnectDelay", () => {
  it("waits the server's retry, doubled per failure up to 30 s, minus a little jitter", () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    expect(reconnectDelay(3000, 0)).toBe(3000);
    expect(reconnectDelay(3000, 1)).toBe(3000);
    expect(reconnectDelay(3000, 2)).toBe(6000);
    expect(reconnectDelay(3000, 3)).toBe(12_000);
    expect(reconnectDelay(3000, 10)).toBe(30_000);
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    expect(reconnectDelay(3000, 10)).toBeGreaterThan(24_000);
  });
});

describe("followEvents", () => {
  it("ends the session as expired when the stream and the refresh are both refused", async () => {
    const paths: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        paths.push(new URL(String(input), "http://localhost").pathname);
        return new Response(null, { status: 401 });
      }),
    );
    signIn("old-token");
    await followEvents({ signal: new AbortController().signal, onEvent: () => undefined });
    expect(paths).toEqual(["/api/v1/events", "/api/v1/auth/token"]);
    expect(getSession()).toEqual({ status: "anonymous", reason: "expired" });
  });

  it("stops when aborted, even while it waits to reconnect", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(null, { status: 503 })),
    );
    signIn("token");
    const controller = new AbortController();
    const done = followEvents({ signal: controller.signal, onEvent: () => undefined });
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    await new Promise((resolve) => setTimeout(resolve, 50)); // now it waits to reconnect
    controller.abort();
    // At once, not after the 3 s it would have waited.
    const late = new Promise((resolve) => setTimeout(() => resolve("late"), 500));
    expect(await Promise.race([done.then(() => "done"), late])).toBe("done");
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("asks to read after this browser's writes", async () => {
    const sent: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const request =
          input instanceof Request
            ? input
            : new Request(new URL(String(input), "http://localhost"), init);
        const path = new URL(request.url).pathname;
        sent.push(`${request.method} ${path} ${request.headers.get(READ_AFTER_HEADER) ?? "-"}`);
        if (path !== "/api/v1/cleanings") return new Response(null, { status: 401 });
        return new Response(null, { status: 201, headers: { [COMMIT_POSITION_HEADER]: "0/9F" } });
      }),
    );
    await fetchWithPosition("http://localhost/api/v1/cleanings", { method: "POST" });
    signIn("old-token");
    await followEvents({ signal: new AbortController().signal, onEvent: () => undefined });
    expect(sent).toEqual([
      "POST /api/v1/cleanings -",
      "GET /api/v1/events 0/9F",
      "POST /api/v1/auth/token -",
    ]);
  });
});
