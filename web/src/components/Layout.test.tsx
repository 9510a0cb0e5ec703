import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { getSession, signOut } from "../auth/session";
import { ME, problem, renderApp, stubApi } from "../test/render";

describe("Layout", () => {
  it("sends you to log in, once, when the session expires, and remembers the page", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return { body: { items: [], next_cursor: null } };
    });
    const { router } = await renderApp("/my/offers?status=pending");
    expect(await screen.findByRole("link", { name: "Feed" })).toBeInTheDocument();

    act(() => signOut("expired"));

    await waitFor(() => expect(router.state.location.pathname).toBe("/login"));
    expect(router.state.location.search).toEqual({ next: "/my/offers?status=pending" });
    // Settled: no redirect loop nesting `next` deeper and deeper.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(router.state.location.search).toEqual({ next: "/my/offers?status=pending" });
  });

  it("puts the focus on the new page's content after a navigation", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return { body: { items: [], next_cursor: null } };
    });
    await renderApp("/my/offers");
    const feed = await screen.findByRole("link", { name: "Feed" });
    feed.focus();

    await userEvent.click(feed);

    await waitFor(() => expect(screen.getByRole("main")).toHaveFocus());
  });

  it("lets an expired visitor open the pages anyone may open", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return { body: { items: [], next_cursor: null } };
    });
    const { router } = await renderApp("/feed");
    await screen.findByRole("link", { name: "Feed" });
    act(() => signOut("expired"));
    await waitFor(() => expect(router.state.location.pathname).toBe("/login"));

    await act(() => router.navigate({ to: "/forgot-password" }));

    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(router.state.location.pathname).toBe("/forgot-password");
  });

  it("stays logged in, and says so, when the server cannot be told of a logout", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/auth/logout") return problem(503, "The database is away.");
      return { body: { items: [], next_cursor: null } };
    });
    const { router } = await renderApp("/feed");

    await userEvent.click(await screen.findByRole("button", { name: "Log out" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("Not logged out");
    expect(getSession().status).toBe("authenticated");
    expect(router.state.location.pathname).toBe("/feed");
  });
});
