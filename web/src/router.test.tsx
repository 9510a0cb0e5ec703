import { QueryClient } from "@tanstack/react-query";
import { createMemoryHistory } from "@tanstack/react-router";
import { describe, expect, it } from "vitest";
import { signIn } from "./auth/session";
import { makeRouter } from "./router";
import { stubApi } from "./test/render";

describe("the router's URLs", () => {
  it("writes and reads search parameters as plain text, the way people type them", async () => {
    stubApi(() => ({ body: { items: [], next_cursor: null } }));
    signIn("token");
    const router = makeRouter(new QueryClient(), createMemoryHistory({ initialEntries: ["/"] }));
    await router.load();

    await router.navigate({ to: "/", search: { min: "20", max: "30.5", sort: "price" } });

    expect(router.state.location.href).toBe("/?min=20&max=30.5&sort=price");
    // What the page reads: its route's validated search, text again.
    const match = router.state.matches.find((candidate) => candidate.routeId === "/");
    expect(match?.search).toEqual({ min: "20", max: "30.5", sort: "price" });
  });
});
