import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { getSession } from "../auth/session";
import { ME, problem, renderApp, stubApi } from "../test/render";

async function fillIn(password = "correct horse battery") {
  await userEvent.type(screen.getByLabelText("Username"), "alice");
  await userEvent.type(screen.getByLabelText("Email"), "alice@example.com");
  await userEvent.type(screen.getByLabelText("Password"), password);
  await userEvent.click(screen.getByRole("button", { name: "Create account" }));
}

describe("SignupPage", () => {
  it("registers, keeps the session and goes to the marketplace", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users") {
        return {
          status: 201,
          body: { access_token: "new", token_type: "bearer", expires_in: 900, user: ME },
        };
      }
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return { body: { items: [], next_cursor: null } };
    });
    const { router } = await renderApp("/signup", { loggedIn: false });
    await fillIn();
    await waitFor(() => expect(router.state.location.pathname).toBe("/"));
    expect(getSession()).toEqual({ status: "authenticated", token: "new" });
    const registration = log.find((entry) => entry.path === "/api/v1/users");
    expect(JSON.parse(registration?.body ?? "")).toEqual({
      username: "alice",
      email: "alice@example.com",
      password: "correct horse battery",
    });
  });

  it("shows a 422 about the password next to the password field", async () => {
    stubApi(() =>
      problem(422, "Check these fields: password.", [
        { field: "password", message: "String should have at least 10 characters" },
      ]),
    );
    const { router } = await renderApp("/signup", { loggedIn: false });
    await fillIn("short");
    const password = screen.getByLabelText("Password");
    await waitFor(() =>
      expect(password).toHaveAccessibleDescription(
        "10-128 characters; spaces count. At least 10 characters.",
      ),
    );
    expect(password).toHaveAttribute("aria-invalid", "true");
    // Shown at its field, so not repeated as an alert for the whole form.
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/signup");
  });

  it("shows a taken username next to the username field", async () => {
    stubApi(() => {
      const reply = problem(409, "The username 'alice' is taken.");
      return {
        ...reply,
        body: { ...(reply.body as object), type: "urn:phresh:problem:username-taken" },
      };
    });
    await renderApp("/signup", { loggedIn: false });
    await fillIn();
    const username = screen.getByLabelText("Username");
    await waitFor(() => expect(username).toHaveAttribute("aria-invalid", "true"));
    expect(username).toHaveAccessibleDescription(expect.stringContaining("'alice' is taken"));
    expect(screen.getByLabelText("Email")).not.toHaveAttribute("aria-invalid");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});
