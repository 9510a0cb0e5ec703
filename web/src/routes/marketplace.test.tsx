import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ME, problem, renderApp, stubApi } from "../test/render";

function cleaning(id: number, name: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name,
    description: `About ${name}: three rooms and a small kitchen.`,
    cleaning_type: "spot_clean",
    price: "25.00",
    status: "open",
    owner: "bob",
    created_at: "2026-11-20T10:00:00Z",
    updated_at: "2026-11-20T10:00:00Z",
    ...extra,
  };
}

function cleaningRequests(log: { method: string; path: string }[]) {
  return log.filter((entry) => entry.path.startsWith("/api/v1/cleanings"));
}

describe("MarketplacePage", () => {
  it("lists cleanings and loads the next page with the cursor", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname !== "/api/v1/cleanings") return undefined;
      if (url.searchParams.get("cursor") === "page-2") {
        return { body: { items: [cleaning(2, "Windows only")], next_cursor: null } };
      }
      return {
        body: {
          items: [cleaning(1, "Spring clean", { cleaning_type: "full_clean" })],
          next_cursor: "page-2",
        },
      };
    });
    await renderApp("/");
    const first = await screen.findByRole("link", { name: "Spring clean" });
    expect(first).toHaveAttribute("href", "/cleanings/1");
    const card = within(first.closest("li") as HTMLElement);
    expect(card.getByRole("heading", { level: 2 })).toHaveTextContent("Spring clean");
    expect(card.getByText("Full clean")).toBeInTheDocument();
    expect(card.getByText("$25.00 / hour")).toBeInTheDocument();
    expect(card.getByRole("link", { name: "bob" })).toHaveAttribute("href", "/users/bob");

    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByRole("link", { name: "Windows only" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Spring clean" })).toBeInTheDocument();
    expect(cleaningRequests(log).map((entry) => entry.path)).toEqual([
      "/api/v1/cleanings",
      "/api/v1/cleanings?cursor=page-2",
    ]);
    // The last page: nothing more to load.
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });

  it("puts a chosen type in the URL and in the request", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname !== "/api/v1/cleanings") return undefined;
      const type = url.searchParams.get("cleaning_type");
      const items = type === "dust_up" ? [cleaning(3, "Dusty attic")] : [cleaning(1, "Spring")];
      return { body: { items, next_cursor: null } };
    });
    const { router } = await renderApp("/?q=attic");
    await screen.findByRole("link", { name: "Spring" });
    expect(screen.getByLabelText("Search cleanings")).toHaveValue("attic");

    await userEvent.selectOptions(screen.getByLabelText("Type"), "Dust up");
    expect(await screen.findByRole("link", { name: "Dusty attic" })).toBeInTheDocument();
    expect(router.state.location.search).toEqual({ q: "attic", type: "dust_up" });
    expect(cleaningRequests(log).at(-1)?.path).toBe(
      "/api/v1/cleanings?q=attic&cleaning_type=dust_up",
    );
  });

  it("applies the typed search and prices on Enter", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/cleanings") return { body: { items: [], next_cursor: null } };
      return undefined;
    });
    const { router } = await renderApp("/");
    expect(await screen.findByText("No open cleanings match your search.")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Minimum price"), "10");
    await userEvent.type(screen.getByLabelText("Search cleanings"), "oven{Enter}");
    await waitFor(() => expect(router.state.location.href).toBe("/?q=oven&min=10"));
    await waitFor(() =>
      expect(cleaningRequests(log).at(-1)?.path).toBe("/api/v1/cleanings?q=oven&min_price=10"),
    );
  });

  it("shows the API's refusal of a price filter next to the field", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname !== "/api/v1/cleanings") return undefined;
      if (
        url.searchParams.get("min_price") === "50" &&
        url.searchParams.get("max_price") === "10"
      ) {
        return problem(422, "Check these fields: min_price.", [
          { field: "min_price", message: "must not exceed max_price" },
        ]);
      }
      return { body: { items: [cleaning(1, "Spring clean")], next_cursor: null } };
    });
    await renderApp("/");
    await screen.findByRole("link", { name: "Spring clean" });
    await userEvent.type(screen.getByLabelText("Minimum price"), "50");
    await userEvent.type(screen.getByLabelText("Maximum price"), "10{Enter}");
    const min = screen.getByLabelText("Minimum price");
    await waitFor(() =>
      expect(min).toHaveAccessibleDescription("Must not exceed the maximum price."),
    );
    expect(min).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Maximum price")).not.toHaveAttribute("aria-invalid");
    // The boxes keep what was typed, and the message is not repeated as an alert.
    expect(min).toHaveValue(50);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Spring clean" })).not.toBeInTheDocument();
  });

  it("offers a retry when the list cannot load", async () => {
    let failing = true;
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname !== "/api/v1/cleanings") return undefined;
      if (failing) return problem(503, "The database is not reachable.");
      return { body: { items: [cleaning(1, "Spring clean")], next_cursor: null } };
    });
    await renderApp("/");
    expect(await screen.findByRole("alert")).toHaveTextContent("The database is not reachable.");
    failing = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("link", { name: "Spring clean" })).toBeInTheDocument();
  });
});
