import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ME, renderApp, stubApi } from "../test/render";

const OFFER = {
  cleaning_id: 5,
  status: "accepted",
  created_at: "2026-11-20T10:00:00Z",
  updated_at: "2026-11-21T10:00:00Z",
  cleaning: { id: 5, name: "Kitchen deep clean", owner: "bob", price: "30.00", status: "assigned" },
};

describe("MyOffersPage", () => {
  it("lists my offers and puts the status filter in the request", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/users/me/offers") {
        const status = url.searchParams.get("status");
        return { body: { items: status === "rejected" ? [] : [OFFER], next_cursor: null } };
      }
      return undefined;
    });
    const { router } = await renderApp("/my/offers");
    const item = (await screen.findByRole("link", { name: "Kitchen deep clean" })).closest("li");
    if (item === null) throw new Error("no list item");
    expect(within(item).getByRole("link", { name: "bob" })).toHaveAttribute("href", "/users/bob");
    expect(item).toHaveTextContent("$30.00 / hour");
    expect(item).toHaveTextContent("Offer: Accepted");

    const filter = screen.getByRole("navigation", { name: "Status" });
    expect(within(filter).getByRole("link", { name: "All" })).toHaveAttribute(
      "aria-current",
      "page",
    );
    await userEvent.click(within(filter).getByRole("link", { name: "Rejected" }));
    await waitFor(() => expect(router.state.location.search).toEqual({ status: "rejected" }));
    expect(await screen.findByText(/No rejected offers/)).toBeInTheDocument();
    expect(within(filter).getByRole("link", { name: "Rejected" })).toHaveAttribute(
      "aria-current",
      "page",
    );
    expect(within(filter).getByRole("link", { name: "All" })).not.toHaveAttribute("aria-current");
    expect(log.map((entry) => entry.path)).toContain("/api/v1/users/me/offers?status=rejected");
  });
});
