import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { COMMIT_POSITION_HEADER, forgetPositions, READ_AFTER_HEADER } from "../api/position";
import { logIn } from "./actions";
import { authFetch, getSession, signIn, signOut } from "./session";

type Answer = { status: number; body?: unknown } | "offline";

/** Stub fetch with answers in turn; returns the requests made (method, path, bearer). */
function answers(...replies: Answer[]) {
  const seen: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request =
        input instanceof Request
          ? input
          : new Request(new URL(String(input), "http://localhost"), init);
      const auth = request.headers.get("Authorization") ?? "-";
      seen.push(`${request.method} ${new URL(request.url).pathname} ${auth}`);
      const reply = replies.shift();
      if (reply === undefined || reply === "offline") throw new TypeError("Failed to fetch");
      return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
        status: reply.status,
      });
    }),
  );
  return seen;
}

const URL_OF = (path: string) => new Request(`http://localhost${path}`);

describe("authFetch", () => {
  afterEach(() => signOut("none"));

  it("renews an expired access token once and retries with the new one", async () => {
    signIn("old");
    const seen = answers(
      { status: 401 },
      { status: 200, body: { access_token: "new" } },
      { status: 200 },
    );

    const response = await authFetch(URL_OF("/api/v1/users/me"));

    expect(response.status).toBe(200);
    expect(seen).toEqual([
      "GET /api/v1/users/me Bearer old",
      "POST /api/v1/auth/token -",
      "GET /api/v1/users/me Bearer new",
    ]);
  });

  it("ends the session as expired when the refresh is refused", async () => {
    signIn("old");
    answers({ status: 401 }, { status: 401 });

    await authFetch(URL_OF("/api/v1/users/me"));

    expect(getSession()).toEqual({ status: "anonymous", reason: "expired" });
  });

  it("keeps the session when the refresh gets no answer (offline)", async () => {
    signIn("old");
    answers({ status: 401 }, "offline");

    const response = await authFetch(URL_OF("/api/v1/users/me"));

    expect(response.status).toBe(401);
    expect(getSession()).toEqual({ status: "authenticated", token: "old" });
  });

  it("takes an auth endpoint's 401 as its answer, without refreshing", async () => {
    signIn("old");
    const seen = answers({ status: 401 });

    const response = await authFetch(
      new Request("http://localhost/api/v1/auth/token", { method: "POST" }),
    );

    expect(response.status).toBe(401);
    expect(seen).toHaveLength(1);
    expect(getSession().status).toBe("authenticated");
  });

  it("uses a token another request renewed meanwhile, without rotating again", async () => {
    signIn("old");
    const seen: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        const request = input instanceof Request ? input : new Request(String(input));
        seen.push(request.headers.get("Authorization") ?? "-");
        if (seen.length === 1) {
          signIn("renewed"); // another request's refresh lands while this one is out
          return new Response(null, { status: 401 });
        }
        return new Response(null, { status: 200 });
      }),
    );

    const response = await authFetch(URL_OF("/api/v1/users/me"));

    expect(response.status).toBe(200);
    expect(seen).toEqual(["Bearer old", "Bearer renewed"]);
  });
});

describe("commit positions", () => {
  afterEach(() => {
    signOut("none");
    forgetPositions();
  });

  /**
   * Stub fetch with answers in turn, each with its status, body and commit position; returns
   * the requests made (method, path, X-Phresh-Read-After).
   */
  function positions(...replies: { status: number; body?: unknown; position?: string }[]) {
    const seen: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const request =
          input instanceof Request
            ? input
            : new Request(new URL(String(input), "http://localhost"), init);
        const readAfter = request.headers.get(READ_AFTER_HEADER) ?? "-";
        seen.push(`${request.method} ${new URL(request.url).pathname} ${readAfter}`);
        const reply = replies.shift() ?? { status: 200 };
        const headers = new Headers({ "Content-Type": "application/json" });
        if (reply.position) headers.set(COMMIT_POSITION_HEADER, reply.position);
        const body = reply.body === undefined ? null : JSON.stringify(reply.body);
        return new Response(body, { status: reply.status, headers });
      }),
    );
    return seen;
  }

  it("sends a write's position with the reads after it", async () => {
    signIn("token");
    const seen = positions({ status: 201, position: "0/16B3748" }, { status: 200 });

    await authFetch(new Request("http://localhost/api/v1/cleanings", { method: "POST" }));
    await authFetch(URL_OF("/api/v1/cleanings/1"));

    expect(seen).toEqual(["POST /api/v1/cleanings -", "GET /api/v1/cleanings/1 0/16B3748"]);
  });

  it("sends a refresh's position with the read it retries", async () => {
    signIn("old");
    const seen = positions(
      { status: 401 },
      { status: 200, body: { access_token: "new" }, position: "0/20" },
      { status: 200 },
    );

    await authFetch(URL_OF("/api/v1/users/me"));

    expect(seen).toEqual([
      "GET /api/v1/users/me -",
      "POST /api/v1/auth/token -",
      "GET /api/v1/users/me 0/20",
    ]);
  });

  it("sends a login's position with the API client's reads after it", async () => {
    const seen = positions(
      { status: 200, body: { access_token: "t", token_type: "bearer" }, position: "1A/FF00AB10" },
      { status: 200, body: {} },
    );

    await logIn("alice", "a password");
    await api.GET("/api/v1/users/me");

    expect(seen).toEqual(["POST /api/v1/auth/token -", "GET /api/v1/users/me 1A/FF00AB10"]);
  });
});
