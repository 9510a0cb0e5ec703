import { afterEach, describe, expect, it, vi } from "vitest";
import {
  COMMIT_POSITION_HEADER,
  fetchWithPosition,
  forgetPositions,
  POSITION_TTL_MS,
  parsePosition,
  READ_AFTER_HEADER,
} from "./position";

const API = "http://localhost/api/v1/cleanings";

/**
 * Stub fetch: each request answers with the commit position given for it (none when null);
 * returns what each request sent as X-Phresh-Read-After ("-" for none), by method.
 */
function server(...positions: (string | null)[]) {
  const sent: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      sent.push(`${request.method} ${request.headers.get(READ_AFTER_HEADER) ?? "-"}`);
      const position = positions.shift() ?? null;
      const headers = position === null ? undefined : { [COMMIT_POSITION_HEADER]: position };
      return new Response(null, { status: 200, headers });
    }),
  );
  return sent;
}

/** The answers of writes carrying these positions, in turn. */
async function write(...positions: (string | null)[]): Promise<void> {
  server(...positions);
  for (const _ of positions) await fetchWithPosition(new Request(API, { method: "POST" }));
}

/** What a GET sends as X-Phresh-Read-After now ("-" for nothing). */
async function readAfterSent(): Promise<string> {
  const sent = server(null);
  await fetchWithPosition(new Request(API));
  return (sent[0] ?? "").replace(/^GET /, "");
}

/** This module as another tab of the browser has it: its own memory, the same storage. */
async function anotherTab(): Promise<typeof import("./position")> {
  vi.resetModules();
  return import("./position");
}

afterEach(() => {
  forgetPositions();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("parsePosition", () => {
  it.each([
    ["0/0", 0n],
    ["0/16B3748", 0x16b3748n],
    ["1A/FF00AB10", (0x1an << 32n) | 0xff00ab10n],
    ["ffffffff/ffffffff", 2n ** 64n - 1n],
  ])("reads %j as a number", (text, value) => {
    expect(parsePosition(text)).toBe(value);
  });

  it.each([
    "",
    "16B3748",
    "0/",
    "/16B3748",
    "0/123456789",
    "123456789/0",
    "0x1/0",
    "G/0",
    "-1/0",
    "+1/0",
    " 0/1",
    "0/1/2",
    "0/1, 0/2",
  ])("refuses %j", (text) => {
    expect(parsePosition(text)).toBeNull();
  });
});

describe("fetchWithPosition", () => {
  it("sends nothing before a write answered a position", async () => {
    expect(await readAfterSent()).toBe("-");
  });

  it.each([
    ["0/9", "0/10"],
    ["0/FF", "1/0"],
    ["F/0", "10/0"],
    ["0/FFFFFFFF", "1/0"],
    ["FFFFFFFF/0", "FFFFFFFF/1"],
  ])("compares positions as numbers: %j is before %j, in either order", async (before, after) => {
    await write(after, before);
    expect(await readAfterSent()).toBe(after);
    forgetPositions();
    await write(before, after);
    expect(await readAfterSent()).toBe(after);
  });

  it("sends the position with GET and HEAD, never with a write", async () => {
    await write("0/16B3748");
    const sent = server();
    for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]) {
      await fetchWithPosition(new Request(API, { method }));
    }
    await fetchWithPosition(API, { method: "get" });
    await fetchWithPosition(new URL(API), { method: "POST", body: "{}" });
    expect(sent).toEqual([
      "GET 0/16B3748",
      "HEAD 0/16B3748",
      "POST -",
      "PUT -",
      "PATCH -",
      "DELETE -",
      "GET 0/16B3748",
      "POST -",
    ]);
  });

  it("keeps the position when an answer carries none", async () => {
    await write("0/16B3748", null);
    expect(await readAfterSent()).toBe("0/16B3748");
  });

  it("ignores a position that is not a pg_lsn", async () => {
    await write("nonsense", "0/123456789", "0x1/0");
    expect(await readAfterSent()).toBe("-");
    await write("0/16B3748", "1/2/3", "FFFFFFFFF/0", "");
    expect(await readAfterSent()).toBe("0/16B3748");
  });

  it("keeps what the caller's request held, headers and all", async () => {
    await write("0/16B3748");
    let seen: Request | undefined;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        seen = input instanceof Request ? input : undefined;
        return new Response(null);
      }),
    );
    await fetchWithPosition(`${API}?status=open`, { headers: { Authorization: "Bearer t" } });
    expect(seen?.url).toBe(`${API}?status=open`);
    expect(seen?.headers.get("Authorization")).toBe("Bearer t");
    expect(seen?.headers.get(READ_AFTER_HEADER)).toBe("0/16B3748");
  });
});

describe("across tabs", () => {
  it("sends a position another tab saw", async () => {
    await write("0/16B3748");
    const other = await anotherTab();
    const sent = server();
    await other.fetchWithPosition(new Request(API));
    expect(sent).toEqual(["GET 0/16B3748"]);
  });

  it("sends the furthest of this tab's and the others'", async () => {
    const other = await anotherTab();
    server("0/20");
    await other.fetchWithPosition(new Request(API, { method: "POST" }));
    await write("0/10");
    expect(await readAfterSent()).toBe("0/20");
    server("0/30");
    await other.fetchWithPosition(new Request(API, { method: "POST" }));
    expect(await readAfterSent()).toBe("0/30");
  });

  it("reads its own writes when storage is refused", async () => {
    vi.spyOn(Storage.prototype, "getItem").mockImplementation(() => {
      throw new DOMException("denied", "SecurityError");
    });
    vi.spyOn(Storage.prototype, "setItem").mockImplementation(() => {
      throw new DOMException("denied", "SecurityError");
    });
    await write("0/20", "0/10");
    expect(await readAfterSent()).toBe("0/20");
  });

  it("ignores what it cannot read in storage", async () => {
    const badPosition = JSON.stringify({ position: "0/x", seenAt: Date.now() });
    for (const text of ["nonsense", "{}", badPosition, "null", "[1]"]) {
      localStorage.setItem("phresh-commit-position", text);
      expect(await readAfterSent()).toBe("-");
    }
  });
});

describe("expiry", () => {
  it(`forgets a position after ${POSITION_TTL_MS / 60_000} minutes, then takes a lower one`, async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-24T10:00:00Z"));
    await write("5/0");
    const other = await anotherTab();

    vi.setSystemTime(Date.now() + POSITION_TTL_MS);
    expect(await readAfterSent()).toBe("5/0");
    // A database rebuilt since answers positions from a shorter history.
    await write("0/10");
    expect(await readAfterSent()).toBe("5/0");

    vi.setSystemTime(Date.now() + 1);
    expect(await readAfterSent()).toBe("-");
    await write("0/20");
    expect(await readAfterSent()).toBe("0/20");
    const sent = server();
    await other.fetchWithPosition(new Request(API));
    expect(sent).toEqual(["GET 0/20"]);
  });
});
