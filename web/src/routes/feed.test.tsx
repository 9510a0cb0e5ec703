import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ME, renderApp, stubApi } from "../test/render";

function item(id: number, event: "created" | "updated", name: string, owner: string) {
  return {
    event,
    event_at: "2026-11-24T09:00:00Z",
    cleaning: {
      id,
      owner,
      name,
      description: "",
      cleaning_type: "spot_clean",
      price: "30.00",
      status: "open",
      created_at: "2026-11-24T09:00:00Z",
      updated_at: "2026-11-24T09:00:00Z",
    },
  };
}

describe("FeedPage", () => {
  it("tells what was posted and updated, and loads the next page on request", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/feed/cleanings") {
        return url.searchParams.get("cursor") === "page-2"
          ? { body: { items: [item(2, "created", "Garage sweep", "carol")], next_cursor: null } }
          : {
              body: {
                items: [item(1, "updated", "Kitchen deep clean", "bob")],
                next_cursor: "page-2",
              },
            };
      }
      return undefined;
    });
    await renderApp("/feed");
    const first = (await screen.findByRole("link", { name: "Kitchen deep clean" })).closest("li");
    expect(first).toHaveTextContent("bob changed Kitchen deep clean");
    expect(first).toHaveTextContent("now $30.00 / hour");
    expect(first?.querySelector("time")).toHaveAttribute("datetime", "2026-11-24T09:00:00Z");
    await userEvent.click(screen.getByRole("button", { name: "Load more of the feed" }));
    const second = (await screen.findByRole("link", { name: "Garage sweep" })).closest("li");
    expect(second).toHaveTextContent("carol posted Garage sweep");
    expect(second?.querySelector("a")).toHaveAttribute("href", "/users/carol");
    await waitFor(() =>
      expect(log.map((entry) => entry.path)).toContain("/api/v1/feed/cleanings?cursor=page-2"),
    );
  });
});
