import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ME, renderApp, stubApi } from "../test/render";

const CLEANING = {
  id: 9,
  owner: "alice",
  name: "Spring clean",
  description: "",
  cleaning_type: "full_clean",
  price: "25.50",
  status: "cancelled",
  created_at: "2026-11-20T10:00:00Z",
  updated_at: "2026-11-21T10:00:00Z",
};

describe("MyCleaningsPage", () => {
  it("lists my cleanings of the status in the URL, with their status and price", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/users/me/cleanings") {
        return { body: { items: [CLEANING], next_cursor: null } };
      }
      return undefined;
    });
    await renderApp("/my/cleanings?status=cancelled");
    const link = await screen.findByRole("link", { name: "Spring clean" });
    expect(link).toHaveAttribute("href", "/cleanings/9");
    const item = link.closest("li");
    if (item === null) throw new Error("no list item");
    expect(item).toHaveTextContent("Status: Cancelled");
    expect(item).toHaveTextContent("$25.50 / hour");
    expect(log.map((entry) => entry.path)).toContain("/api/v1/users/me/cleanings?status=cancelled");
  });

  it("offers to post a cleaning when there is none", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/users/me/cleanings") {
        return { body: { items: [], next_cursor: null } };
      }
      return undefined;
    });
    await renderApp("/my/cleanings");
    const main = screen.getByRole("main");
    expect(await within(main).findByRole("link", { name: "Post a cleaning" })).toHaveAttribute(
      "href",
      "/cleanings/new",
    );
  });
});
