import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ME, problem, renderApp, stubApi } from "../test/render";

const BASE = "/api/v1/cleanings/7";

function cleaning(extra: Record<string, unknown> = {}) {
  return {
    id: 7,
    name: "Spring clean",
    description: "Three rooms.\nMind the cat.",
    cleaning_type: "full_clean",
    price: "30.00",
    status: "open",
    owner: "alice",
    created_at: "2026-11-20T10:00:00Z",
    updated_at: "2026-11-20T10:00:00Z",
    ...extra,
  };
}

function offer(cleaner: string, status: string) {
  return {
    cleaning_id: 7,
    cleaner,
    status,
    created_at: "2026-11-21T10:00:00Z",
    updated_at: "2026-11-21T10:00:00Z",
  };
}

function offerItem(name: string): HTMLElement {
  const item = screen.getByRole("link", { name }).closest("li");
  if (!item) throw new Error(`no list item for ${name}`);
  return item;
}

describe("CleaningPage as the owner", () => {
  it("accepts one offer by posting to its cleaner's path", async () => {
    let status = "open";
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === BASE) return { body: cleaning({ status }) };
      if (url.pathname === `${BASE}/offers`) {
        const offers =
          status === "open"
            ? [offer("bob", "pending"), offer("carol", "pending"), offer("dave", "cancelled")]
            : [offer("bob", "rejected"), offer("carol", "accepted"), offer("dave", "cancelled")];
        return { body: { items: offers, next_cursor: null } };
      }
      if (request.method === "POST" && url.pathname === `${BASE}/offers/carol/accept`) {
        status = "assigned";
        return { body: offer("carol", "accepted") };
      }
      return undefined;
    });
    await renderApp("/cleanings/7");
    expect(
      await screen.findByRole("heading", { level: 1, name: "Spring clean" }),
    ).toBeInTheDocument();
    expect(screen.getByText("$30.00 / hour")).toBeInTheDocument();
    await screen.findByRole("link", { name: "carol" });
    expect(screen.getAllByRole("button", { name: "Accept" })).toHaveLength(2);
    // Only a pending offer can be accepted.
    expect(within(offerItem("dave")).queryByRole("button")).not.toBeInTheDocument();
    expect(within(offerItem("dave")).getByText("Cancelled")).toBeInTheDocument();
    const accept = within(offerItem("carol")).getByRole("button", { name: "Accept" });
    expect(accept).toHaveAccessibleDescription("carol");

    await userEvent.click(accept);
    expect(log.filter((entry) => entry.method === "POST").map((entry) => entry.path)).toEqual([
      `${BASE}/offers/carol/accept`,
    ]);
    // The page follows: assigned, carol shown, no more Accept, the rating form appears.
    expect(await screen.findByRole("heading", { name: "Rate the cleaner" })).toBeInTheDocument();
    expect(screen.getByText(/You accepted the offer of/)).toHaveTextContent("carol");
    expect(screen.queryByRole("button", { name: "Accept" })).not.toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Your cleaner" })).toHaveFocus();
  });

  it("posts the evaluation with the overall rating", async () => {
    let status = "assigned";
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === BASE) return { body: cleaning({ status }) };
      if (url.pathname === `${BASE}/offers`) {
        const bob = offer("bob", status === "assigned" ? "accepted" : "completed");
        return { body: { items: [bob], next_cursor: null } };
      }
      if (request.method === "POST" && url.pathname === `${BASE}/evaluation`) {
        status = "completed";
        return { status: 201, body: {} };
      }
      return undefined;
    });
    await renderApp("/cleanings/7");
    await userEvent.click(await screen.findByRole("button", { name: "Submit evaluation" }));
    // Nothing is sent without the required rating.
    expect(screen.getByLabelText("Overall rating")).toHaveAccessibleDescription(
      "Choose an overall rating.",
    );
    expect(log.some((entry) => entry.method === "POST")).toBe(false);

    await userEvent.selectOptions(screen.getByLabelText("Overall rating"), "4");
    await userEvent.selectOptions(screen.getByLabelText("Efficiency"), "5");
    await userEvent.type(screen.getByLabelText("Headline"), "Spotless");
    await userEvent.click(screen.getByRole("button", { name: "Submit evaluation" }));
    await screen.findByRole("heading", { name: "Completed" });
    const post = log.find((entry) => entry.method === "POST");
    expect(post?.path).toBe(`${BASE}/evaluation`);
    expect(JSON.parse(post?.body ?? "{}")).toEqual({
      overall_rating: 4,
      professionalism: null,
      completeness: null,
      efficiency: 5,
      headline: "Spotless",
      comment: null,
      no_show: false,
    });
    expect(screen.getByText(/This job was done by/)).toHaveTextContent("bob");
    expect(screen.queryByRole("button", { name: "Submit evaluation" })).not.toBeInTheDocument();
  });

  it("deletes only after the confirm step and shows a refusal", async () => {
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === BASE && request.method === "DELETE") {
        return problem(409, "A cleaner has been accepted for this cleaning.");
      }
      if (url.pathname === BASE) return { body: cleaning() };
      if (url.pathname === `${BASE}/offers`) return { body: { items: [], next_cursor: null } };
      return undefined;
    });
    await renderApp("/cleanings/7");
    await userEvent.click(await screen.findByRole("button", { name: "Delete cleaning" }));
    expect(log.some((entry) => entry.method === "DELETE")).toBe(false);
    const yes = screen.getByRole("button", { name: "Yes, delete it" });
    expect(yes).toHaveFocus();
    await userEvent.click(yes);
    expect(await screen.findByRole("alert")).toHaveTextContent("A cleaner has been accepted");
    expect(log.filter((entry) => entry.method === "DELETE").map((entry) => entry.path)).toEqual([
      BASE,
    ]);
  });
});

describe("CleaningPage as a cleaner", () => {
  it("makes an offer, then withdraws it", async () => {
    let mine: ReturnType<typeof offer> | null = null;
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === BASE) return { body: cleaning({ owner: "bob" }) };
      if (url.pathname === `${BASE}/offers/alice`) {
        return mine ? { body: mine } : problem(404, "No offer.");
      }
      if (request.method === "POST" && url.pathname === `${BASE}/offers`) {
        mine = offer("alice", "pending");
        return { status: 201, body: mine };
      }
      if (request.method === "DELETE" && url.pathname === `${BASE}/offers/mine`) {
        mine = null;
        return { status: 204 };
      }
      return undefined;
    });
    await renderApp("/cleanings/7");
    await userEvent.click(await screen.findByRole("button", { name: "Make an offer" }));
    await userEvent.click(await screen.findByRole("button", { name: "Withdraw offer" }));
    expect(await screen.findByRole("button", { name: "Make an offer" })).toBeInTheDocument();
    const changes = log.filter((entry) => entry.method !== "GET");
    expect(changes.map((entry) => `${entry.method} ${entry.path}`)).toEqual([
      `POST ${BASE}/offers`,
      `DELETE ${BASE}/offers/mine`,
    ]);
    // The owner's offers list is not the cleaner's to read.
    expect(log.some((entry) => entry.path.startsWith(`${BASE}/offers?`))).toBe(false);
  });

  it("cancels an accepted job after the confirm step", async () => {
    let mine = offer("alice", "accepted");
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === BASE) return { body: cleaning({ owner: "bob", status: "assigned" }) };
      if (url.pathname === `${BASE}/offers/alice`) return { body: mine };
      if (request.method === "POST" && url.pathname === `${BASE}/offers/mine/cancel`) {
        mine = offer("alice", "cancelled");
        return { body: mine };
      }
      return undefined;
    });
    await renderApp("/cleanings/7");
    expect(await screen.findByText(/Your offer was accepted/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Cancel job" }));
    await userEvent.click(screen.getByRole("button", { name: "Yes, cancel the job" }));
    expect(await screen.findByText("You cancelled this job.")).toBeInTheDocument();
    expect(log.filter((entry) => entry.method === "POST").map((entry) => entry.path)).toEqual([
      `${BASE}/offers/mine/cancel`,
    ]);
  });

  it("shows why an offer was refused", async () => {
    stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === BASE) return { body: cleaning({ owner: "bob" }) };
      if (url.pathname === `${BASE}/offers/alice`) return problem(404, "No offer.");
      if (request.method === "POST") return problem(409, "You cancelled this job before.");
      return undefined;
    });
    await renderApp("/cleanings/7");
    await userEvent.click(await screen.findByRole("button", { name: "Make an offer" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You cancelled this job before.");
  });
});

describe("CleaningPage for a missing cleaning", () => {
  it("says it does not exist and links back", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return problem(404, "Cleaning not found.");
    });
    await renderApp("/cleanings/99");
    expect(
      await screen.findByText("This cleaning does not exist or was removed."),
    ).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Back to the marketplace" })).toHaveAttribute(
      "href",
      "/",
    );
    await waitFor(() => expect(screen.getAllByRole("heading", { level: 1 })).toHaveLength(1));
  });
});
