import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getSession } from "../auth/session";
import { ME, renderApp } from "../test/render";
import { TOAST_MS } from "./LiveEvents";

type Connection = { headers: Headers };

function sseEvent(id: number, kind: string, by: string, cleaningName = "Kitchen deep clean") {
  const event = {
    id,
    kind,
    cleaning_id: 5,
    data: { cleaning_id: 5, cleaning_name: cleaningName, by },
    created_at: "2026-11-24T10:00:00Z",
  };
  return `id: ${id}\nevent: ${kind}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A stream that sends `chunks`, then ends, or stays open until it is cancelled. */
function stream(chunks: string[], { end }: { end: boolean }): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (end) controller.close();
    },
  });
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/**
 * Stub fetch: GET /api/v1/events answers `streams` in turn (the last one for every later
 * connection), POST /auth/token a fresh token, the rest what the pages need.
 */
function stubFetch(streams: (() => Response)[]) {
  const connections: Connection[] = [];
  const requests: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request =
        input instanceof Request
          ? input
          : new Request(new URL(String(input), "http://localhost"), init);
      const url = new URL(request.url, "http://localhost");
      requests.push(`${request.method} ${url.pathname}`);
      if (url.pathname === "/api/v1/events") {
        const answer = streams[Math.min(connections.length, streams.length - 1)];
        connections.push({ headers: new Headers(init?.headers) });
        if (answer === undefined) throw new TypeError("no stream");
        return answer();
      }
      if (url.pathname === "/api/v1/auth/token") {
        return json({ access_token: "fresh", token_type: "bearer", expires_in: 900 });
      }
      if (url.pathname === "/api/v1/users/me") return json(ME);
      return json({ items: [], next_cursor: null });
    }),
  );
  return { connections, requests };
}

const openStream = () =>
  new Response(stream(["retry: 10\n\n: keepalive\n\n"], { end: false }), {
    headers: { "Content-Type": "text/event-stream" },
  });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("LiveEvents", () => {
  it("shows a toast for an event, refreshes my lists, and resumes after it on reconnect", async () => {
    const { connections, requests } = stubFetch([
      () =>
        new Response(
          // Split mid-line: the parser puts the message together.
          stream(
            [
              "retry: 10\n\n",
              sseEvent(7, "offer_created", "bob").slice(0, 30),
              sseEvent(7, "offer_created", "bob").slice(30),
            ],
            {
              end: true,
            },
          ),
        ),
      openStream,
    ]);
    await renderApp("/my/cleanings");
    const region = screen.getByTestId("live-events");
    expect(region).toHaveAttribute("role", "status");
    expect(region).toHaveAttribute("aria-live", "polite");
    await waitFor(() =>
      expect(region).toHaveTextContent("bob offered to clean Kitchen deep clean"),
    );
    expect(within(region).getByRole("link", { name: "Kitchen deep clean" })).toHaveAttribute(
      "href",
      "/cleanings/5",
    );
    await waitFor(() => expect(connections).toHaveLength(2));
    expect(connections[0]?.headers.get("Authorization")).toBe("Bearer test-access-token");
    expect(connections[0]?.headers.get("Last-Event-ID")).toBeNull();
    expect(connections[1]?.headers.get("Last-Event-ID")).toBe("7");
    // The event invalidated my cleanings: the open page read them again.
    await waitFor(() =>
      expect(requests.filter((line) => line === "GET /api/v1/users/me/cleanings")).toHaveLength(2),
    );
  });

  it("skips an event sent again after a reconnection", async () => {
    const again = () =>
      new Response(
        stream(["retry: 10\n\n", sseEvent(3, "offer_accepted", "alice")], { end: true }),
      );
    const { connections } = stubFetch([again, again, openStream]);
    await renderApp("/my/offers");
    await waitFor(() => expect(connections).toHaveLength(3));
    expect(screen.getAllByText(/alice accepted your offer on/)).toHaveLength(1);
  });

  it("says a removed cleaning is gone, without a link to its page", async () => {
    const removed = () =>
      new Response(
        stream(["retry: 10\n\n", sseEvent(4, "cleaning_removed", "olga")], { end: false }),
      );
    stubFetch([removed]);
    await renderApp("/my/offers");

    const toast = await screen.findByText(
      "olga removed the cleaning you offered on: Kitchen deep clean",
    );
    expect(within(toast).queryByRole("link")).toBeNull();
  });

  it("refreshes the access token when the stream is refused with a 401", async () => {
    const { connections, requests } = stubFetch([
      () => json({ title: "Unauthorized", status: 401, detail: "Expired", type: "x" }, 401),
      openStream,
    ]);
    await renderApp("/feed");
    await waitFor(() => expect(connections).toHaveLength(2));
    expect(requests).toContain("POST /api/v1/auth/token");
    expect(connections[1]?.headers.get("Authorization")).toBe("Bearer fresh");
    expect(getSession()).toEqual({ status: "authenticated", token: "fresh" });
  });

  it("dismisses a toast by its own button and keeps the newest five", async () => {
    const events = [1, 2, 3, 4, 5, 6].map((id) =>
      sseEvent(id, "offer_created", `cleaner${id}`, `Cleaning ${id}`),
    );
    stubFetch([() => new Response(stream(["retry: 10\n\n", ...events], { end: false }))]);
    await renderApp("/feed");
    const region = screen.getByTestId("live-events");
    await waitFor(() => expect(within(region).getAllByRole("listitem")).toHaveLength(5));
    expect(region).not.toHaveTextContent("cleaner1 offered");
    await userEvent.click(
      within(region).getByRole("button", { name: "Dismiss: cleaner3 offered to clean Cleaning 3" }),
    );
    expect(within(region).getAllByRole("listitem")).toHaveLength(4);
    expect(region).not.toHaveTextContent("cleaner3 offered");
    // The focus moves to the next toast's button, not to the page's start.
    expect(
      within(region).getByRole("button", { name: "Dismiss: cleaner4 offered to clean Cleaning 4" }),
    ).toHaveFocus();
  });

  it("takes a toast away after 15 s, but not while the pointer is on it", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      stubFetch([
        () =>
          new Response(
            stream(["retry: 10\n\n", sseEvent(1, "job_cancelled", "bob")], { end: false }),
          ),
      ]);
      await renderApp("/feed");
      const region = screen.getByTestId("live-events");
      await waitFor(() =>
        expect(region).toHaveTextContent("bob cancelled the job on Kitchen deep clean"),
      );
      const toast = within(region).getByRole("listitem");
      fireEvent.pointerEnter(toast);
      await act(() => vi.advanceTimersByTimeAsync(TOAST_MS + 1000));
      expect(region).toHaveTextContent("bob cancelled the job");
      fireEvent.pointerLeave(toast);
      await act(() => vi.advanceTimersByTimeAsync(4000));
      expect(region).toHaveTextContent("bob cancelled the job");
      await act(() => vi.advanceTimersByTimeAsync(2000));
      expect(region).not.toHaveTextContent("bob cancelled the job");
    } finally {
      vi.useRealTimers();
    }
  });
});
