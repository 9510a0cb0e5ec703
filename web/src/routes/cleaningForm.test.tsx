import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ME, problem, renderApp, stubApi } from "../test/render";

function cleaning(extra: Record<string, unknown> = {}) {
  return {
    id: 42,
    name: "Spring clean",
    description: "Three rooms.",
    cleaning_type: "spot_clean",
    price: "25.00",
    status: "open",
    owner: "alice",
    created_at: "2026-11-20T10:00:00Z",
    updated_at: "2026-11-20T10:00:00Z",
    ...extra,
  };
}

describe("NewCleaningPage", () => {
  it("shows the API's price error next to Price per hour", async () => {
    stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (request.method === "POST" && url.pathname === "/api/v1/cleanings") {
        return problem(422, "Check these fields: price.", [
          { field: "price", message: "Use at most 2 decimals." },
        ]);
      }
      return undefined;
    });
    const { router } = await renderApp("/cleanings/new");
    await userEvent.type(screen.getByLabelText("Name"), "Spring clean");
    await userEvent.type(screen.getByLabelText("Price per hour"), "25.123");
    await userEvent.click(screen.getByRole("button", { name: "Post cleaning" }));
    const price = screen.getByLabelText("Price per hour");
    await waitFor(() => expect(price).toHaveAttribute("aria-invalid", "true"));
    expect(price).toHaveAccessibleDescription(/Use at most 2 decimals\./);
    expect(screen.getByLabelText("Name")).not.toHaveAttribute("aria-invalid");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/cleanings/new");
  });

  it("posts the cleaning and opens its page", async () => {
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (request.method === "POST" && url.pathname === "/api/v1/cleanings") {
        return { status: 201, body: cleaning({ cleaning_type: "dust_up" }) };
      }
      if (url.pathname === "/api/v1/cleanings/42/offers") {
        return { body: { items: [], next_cursor: null } };
      }
      if (url.pathname === "/api/v1/cleanings/42") return { body: cleaning() };
      return undefined;
    });
    const { router } = await renderApp("/cleanings/new");
    expect(screen.getByLabelText("Type")).toHaveValue("spot_clean");
    await userEvent.type(screen.getByLabelText("Name"), "  Spring clean ");
    await userEvent.type(screen.getByLabelText("Description"), "Three rooms.");
    await userEvent.selectOptions(screen.getByLabelText("Type"), "Dust up");
    await userEvent.type(screen.getByLabelText("Price per hour"), "25.00");
    await userEvent.click(screen.getByRole("button", { name: "Post cleaning" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/cleanings/42"));
    const post = log.find((entry) => entry.method === "POST");
    expect(JSON.parse(post?.body ?? "{}")).toEqual({
      name: "Spring clean",
      description: "Three rooms.",
      cleaning_type: "dust_up",
      price: "25.00",
    });
    expect(await screen.findByRole("heading", { level: 1 })).toHaveTextContent("Spring clean");
  });
});

describe("EditCleaningPage", () => {
  it("sends only what changed and shows a conflict", async () => {
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (request.method === "PATCH") {
        return problem(409, "An offer has been accepted: price can no longer change.");
      }
      if (url.pathname === "/api/v1/cleanings/42") return { body: cleaning() };
      return undefined;
    });
    await renderApp("/cleanings/42/edit");
    const name = await screen.findByLabelText("Name");
    await waitFor(() => expect(name).toHaveValue("Spring clean"));
    await userEvent.clear(screen.getByLabelText("Price per hour"));
    await userEvent.type(screen.getByLabelText("Price per hour"), "30");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("price can no longer change");
    const patch = log.find((entry) => entry.method === "PATCH");
    expect(patch?.path).toBe("/api/v1/cleanings/42");
    expect(JSON.parse(patch?.body ?? "{}")).toEqual({ price: "30" });
  });

  it("keeps price and type fixed once a cleaner is assigned", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/cleanings/42")
        return { body: cleaning({ status: "assigned" }) };
      return undefined;
    });
    await renderApp("/cleanings/42/edit");
    await waitFor(() => expect(screen.getByLabelText("Name")).toHaveValue("Spring clean"));
    expect(screen.getByLabelText("Price per hour")).toBeDisabled();
    expect(screen.getByLabelText("Type")).toBeDisabled();
    expect(screen.getByLabelText("Description")).toBeEnabled();
  });
});
