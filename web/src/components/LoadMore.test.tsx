import { act, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ME, renderApp, stubApi } from "../test/render";

type Callback = (entries: { isIntersecting: boolean }[]) => void;

/** A stand-in IntersectionObserver: the test says when the sentinel scrolls into view. */
function stubObserver() {
  const observers: { callback: Callback; connected: boolean }[] = [];
  vi.stubGlobal(
    "IntersectionObserver",
    class {
      readonly entry: { callback: Callback; connected: boolean };
      constructor(callback: Callback) {
        this.entry = { callback, connected: false };
        observers.push(this.entry);
      }
      observe() {
        this.entry.connected = true;
      }
      disconnect() {
        this.entry.connected = false;
      }
    },
  );
  return {
    scrollIntoView: () =>
      act(() => {
        for (const observer of observers.filter((entry) => entry.connected)) {
          observer.callback([{ isIntersecting: true }]);
        }
      }),
  };
}

function page(id: number, next: string | null) {
  const item = {
    id,
    name: `Cleaning ${id}`,
    description: "",
    cleaning_type: "spot_clean",
    price: "20.00",
    status: "open",
    owner: "bob",
    created_at: "2026-11-20T10:00:00Z",
    updated_at: "2026-11-20T10:00:00Z",
  };
  return { body: { items: [item], next_cursor: next } };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("LoadMore", () => {
  it("loads the next page when its sentinel scrolls into view", async () => {
    const observer = stubObserver();
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname !== "/api/v1/cleanings") return undefined;
      const cursor = url.searchParams.get("cursor");
      return cursor === null ? page(1, "two") : cursor === "two" ? page(2, "three") : page(3, null);
    });
    await renderApp("/");
    await screen.findByRole("link", { name: "Cleaning 1" });
    observer.scrollIntoView();
    await screen.findByRole("link", { name: "Cleaning 2" });
    observer.scrollIntoView();
    await screen.findByRole("link", { name: "Cleaning 3" });
    expect(log.filter((entry) => entry.path.startsWith("/api/v1/cleanings")).length).toBe(3);
    // The last page is in: no sentinel, no button.
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });
});
