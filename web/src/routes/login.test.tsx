import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { getSession } from "../auth/session";
import { ME, problem, renderApp, stubApi } from "../test/render";

describe("LoginPage", () => {
  it("logs in with the web client header and goes back where the visitor was", async () => {
    const log = stubApi((request, url) => {
      if (url.pathname === "/api/v1/auth/token") {
        expect(request.headers.get("X-Phresh-Client")).toBe("web");
        expect(request.headers.get("Content-Type")).toBe("application/x-www-form-urlencoded");
        return {
          body: {
            access_token: "fresh",
            token_type: "bearer",
            expires_in: 900,
            refresh_token: null,
          },
        };
      }
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return { body: { items: [], next_cursor: null } };
    });
    const { router } = await renderApp("/login?next=%2Fmy%2Foffers", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("Username or email"), "alice");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse battery");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/my/offers"));
    expect(getSession()).toEqual({ status: "authenticated", token: "fresh" });
    const login = log.find((entry) => entry.path === "/api/v1/auth/token");
    expect(new URLSearchParams(login?.body)).toEqual(
      new URLSearchParams({
        grant_type: "password",
        username: "alice",
        password: "correct horse battery",
      }),
    );
  });

  it("shows the API's refusal and stays", async () => {
    stubApi(() => problem(401, "Incorrect username or password."));
    const { router } = await renderApp("/login", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("Username or email"), "alice");
    await userEvent.type(screen.getByLabelText("Password"), "wrong password!");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Incorrect username or password.");
    expect(router.state.location.pathname).toBe("/login");
  });

  it("sends an anonymous visitor of a private page to log in, remembering the page", async () => {
    stubApi(() => undefined);
    const { router } = await renderApp("/feed", { loggedIn: false });
    expect(router.state.location.pathname).toBe("/login");
    expect(router.state.location.search).toEqual({ next: "/feed" });
  });
});
