import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ME, problem, renderApp, stubApi } from "../test/render";
import { describeAgent } from "./settings";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";

const session = (id: string, agent: string, current: boolean, created: string) => ({
  id,
  created_at: created,
  last_used_at: "2026-11-20T09:00:00Z",
  expires_at: "2026-12-20T09:00:00Z",
  user_agent: agent,
  client_address: current ? "203.0.113.5" : "198.51.100.7",
  current,
});

const THIS = session("11111111-1111-4111-8111-111111111111", FIREFOX, true, "2026-11-20T08:00:00Z");
const PHONE = session(
  "22222222-2222-4222-8222-222222222222",
  SAFARI,
  false,
  "2026-11-02T08:00:00Z",
);
const TABLET = session(
  "33333333-3333-4333-8333-333333333333",
  SAFARI,
  false,
  "2026-10-02T08:00:00Z",
);

describe("SettingsPage", () => {
  it("lists the sessions and ends the one chosen", async () => {
    let sessions = [THIS, PHONE, TABLET];
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/users/me/sessions" && request.method === "GET") {
        return { body: { items: sessions, next_cursor: null } };
      }
      if (request.method === "DELETE" && url.pathname.startsWith("/api/v1/users/me/sessions/")) {
        sessions = sessions.filter((item) => !url.pathname.endsWith(item.id));
        return { status: 204 };
      }
      return undefined;
    });
    await renderApp("/settings");
    const list = await screen.findByRole("list", { name: "Your sessions" });
    const items = within(list).getAllByRole("listitem");
    expect(items).toHaveLength(3);
    expect(items[0]).toHaveTextContent("Firefox on Linux");
    expect(within(items[0] as HTMLElement).getByText("This device")).toBeInTheDocument();
    // The current session is ended by logging out, not from this list.
    expect(within(items[0] as HTMLElement).queryByRole("button")).not.toBeInTheDocument();
    expect(items[1]).toHaveTextContent("Safari on iOS");
    expect(items[1]).toHaveTextContent("198.51.100.7");

    const buttons = screen.getAllByRole("button", { name: /^End session/ });
    expect(new Set(buttons.map((button) => button.getAttribute("aria-label"))).size).toBe(2);
    await userEvent.click(
      screen.getByRole("button", {
        name: /^End session started Oct 2, 2026.* from Safari on iOS$/,
      }),
    );
    await waitFor(() => expect(within(list).getAllByRole("listitem")).toHaveLength(2));
    const ended = log.filter((entry) => entry.method === "DELETE");
    expect(ended.map((entry) => entry.path)).toEqual([`/api/v1/users/me/sessions/${TABLET.id}`]);
  });

  it("logs out every other session", async () => {
    let sessions = [THIS, PHONE];
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/users/me/sessions" && request.method === "DELETE") {
        sessions = [THIS];
        return { status: 204 };
      }
      if (url.pathname === "/api/v1/users/me/sessions") {
        return { body: { items: sessions, next_cursor: null } };
      }
      return undefined;
    });
    await renderApp("/settings");
    await screen.findByText("Safari on iOS");
    await userEvent.click(screen.getByRole("button", { name: "Log out everywhere else" }));
    expect(await screen.findByText("Every other session was logged out.")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText("Safari on iOS")).not.toBeInTheDocument());
    expect(log.filter((entry) => entry.method === "DELETE").map((entry) => entry.path)).toEqual([
      "/api/v1/users/me/sessions",
    ]);
  });

  it("loads more sessions with the cursor", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.searchParams.get("cursor") === "next-page") {
        return { body: { items: [TABLET], next_cursor: null } };
      }
      return { body: { items: [THIS, PHONE], next_cursor: "next-page" } };
    });
    await renderApp("/settings");
    await screen.findByText("Firefox on Linux");
    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() =>
      expect(screen.getAllByRole("button", { name: /^End session/ })).toHaveLength(2),
    );
    expect(log.map((entry) => entry.path)).toContain("/api/v1/users/me/sessions?cursor=next-page");
  });

  it("saves the profile and shows a 422 next to its field", async () => {
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/profiles/me" && request.method === "PATCH") {
        return problem(422, "Check these fields: phone_number.", [
          { field: "phone_number", message: "String should match pattern" },
        ]);
      }
      return { body: { items: [], next_cursor: null } };
    });
    await renderApp("/settings");
    const name = await screen.findByLabelText("Full name");
    expect(name).toHaveValue("Alice");
    await userEvent.clear(name);
    await userEvent.type(screen.getByLabelText("Phone number"), "call me");
    await userEvent.type(screen.getByLabelText("Bio"), "  I clean.  ");
    await userEvent.click(screen.getByRole("button", { name: "Save profile" }));
    const phone = screen.getByLabelText("Phone number");
    await waitFor(() => expect(phone).toHaveAttribute("aria-invalid", "true"));
    expect(phone).toHaveAccessibleDescription(expect.stringContaining("Not in the expected form."));
    const sent = log.find((entry) => entry.method === "PATCH");
    expect(sent?.path).toBe("/api/v1/profiles/me");
    expect(JSON.parse(sent?.body ?? "")).toEqual({
      full_name: null,
      phone_number: "call me",
      bio: "I clean.",
      image_url: null,
    });
  });

  it("tells the two current-password fields apart and shows a wrong one at its form", async () => {
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      if (url.pathname === "/api/v1/users/me/password") {
        const reply = problem(403, "The current password is not right.");
        return {
          ...reply,
          body: { ...(reply.body as object), type: "urn:phresh:problem:wrong-password" },
        };
      }
      expect(request.method).toBe("GET");
      return { body: { items: [], next_cursor: null } };
    });
    await renderApp("/settings");
    const passwordForm = await screen.findByRole("form", { name: "Change password" });
    const emailForm = screen.getByRole("form", { name: "Change email" });
    await userEvent.type(within(passwordForm).getByLabelText("Current password"), "not it");
    await userEvent.type(
      within(passwordForm).getByLabelText("New password"),
      "a new long password",
    );
    await userEvent.click(within(passwordForm).getByRole("button", { name: "Change password" }));
    const current = within(passwordForm).getByLabelText("Current password");
    await waitFor(() =>
      expect(current).toHaveAccessibleDescription("The current password is not right."),
    );
    expect(within(emailForm).getByLabelText("Current password")).not.toHaveAttribute(
      "aria-invalid",
    );
    const sent = log.find((entry) => entry.method === "POST");
    expect(JSON.parse(sent?.body ?? "")).toEqual({
      current_password: "not it",
      new_password: "a new long password",
    });
  });

  it("changes the email and says it waits for verification", async () => {
    let me = ME;
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/users/me" && request.method === "PATCH") {
        me = { ...ME, email: "new@example.com", email_verified: false };
        return { body: me };
      }
      if (url.pathname === "/api/v1/users/me") return { body: me };
      return { body: { items: [], next_cursor: null } };
    });
    await renderApp("/settings");
    const form = await screen.findByRole("form", { name: "Change email" });
    const email = within(form).getByLabelText("Email");
    await userEvent.clear(email);
    await userEvent.type(email, "new@example.com");
    await userEvent.type(within(form).getByLabelText("Current password"), "my password");
    await userEvent.click(within(form).getByRole("button", { name: "Change email" }));
    expect(await screen.findByText(/unverified until you follow the link/)).toBeInTheDocument();
    const sent = log.find((entry) => entry.method === "PATCH");
    expect(JSON.parse(sent?.body ?? "")).toEqual({
      email: "new@example.com",
      current_password: "my password",
    });
    // The layout's banner now asks to verify the new address.
    expect(await screen.findByRole("region", { name: "Email verification" })).toHaveTextContent(
      "new@example.com",
    );
  });
});

describe("describeAgent", () => {
  it("names the browser and system of common agents", () => {
    expect(describeAgent(FIREFOX)).toBe("Firefox on Linux");
    expect(describeAgent(SAFARI)).toBe("Safari on iOS");
    expect(describeAgent(null)).toBe("Unknown device");
    expect(describeAgent("curl/8.5.0")).toBe("curl/8.5.0");
  });
});
