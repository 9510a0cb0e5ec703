import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { getSession } from "../auth/session";
import { ME, problem, renderApp, stubApi } from "../test/render";

describe("ForgotPasswordPage", () => {
  it("says a link may be on its way, whatever the address", async () => {
    const log = stubApi((_request, url) =>
      url.pathname === "/api/v1/auth/forgot-password" ? { status: 202 } : undefined,
    );
    await renderApp("/forgot-password", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("Email"), " bob@example.com ");
    await userEvent.click(screen.getByRole("button", { name: "Send reset link" }));
    expect(
      await screen.findByText("If an account uses that address, a reset link is on its way."),
    ).toBeInTheDocument();
    const sent = log.find((entry) => entry.path === "/api/v1/auth/forgot-password");
    expect(JSON.parse(sent?.body ?? "")).toEqual({ email: "bob@example.com" });
  });

  it("shows a rate limit's detail", async () => {
    stubApi(() => problem(429, "Too many requests; try again in 60 seconds."));
    await renderApp("/forgot-password", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("Email"), "bob@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Send reset link" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Too many requests; try again in 60 seconds.",
    );
    expect(screen.queryByText(/a reset link is on its way/)).not.toBeInTheDocument();
  });
});

describe("ResetPasswordPage", () => {
  it("spends the link's token only when the button is clicked", async () => {
    const log = stubApi((_request, url) =>
      url.pathname === "/api/v1/auth/reset-password" ? { status: 204 } : undefined,
    );
    await renderApp("/reset-password?token=tok-123", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("New password"), "a new long password");
    expect(log).toEqual([]);
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    const done = await screen.findByText("Your password is changed; every session was logged out.");
    // The form and its button are gone: the focus moves to the outcome instead of the body.
    await waitFor(() => expect(done.closest("[tabindex]")).toHaveFocus());
    expect(log).toHaveLength(1);
    expect(log[0]?.method).toBe("POST");
    expect(log[0]?.path).toBe("/api/v1/auth/reset-password");
    expect(JSON.parse(log[0]?.body ?? "")).toEqual({
      token: "tok-123",
      new_password: "a new long password",
    });
    // The header has a "Log in" link too (this browser is anonymous): the page's own is in main.
    expect(within(screen.getByRole("main")).getByRole("link", { name: "Log in" })).toHaveAttribute(
      "href",
      "/login",
    );
  });

  it("logs this browser out too, as the API ended every session", async () => {
    stubApi((_request, url) => {
      if (url.pathname === "/api/v1/auth/reset-password") return { status: 204 };
      if (url.pathname === "/api/v1/users/me") return { body: ME };
      return undefined;
    });
    await renderApp("/reset-password?token=tok-123");
    await userEvent.type(screen.getByLabelText("New password"), "a new long password");
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    await waitFor(() => expect(getSession().status).toBe("anonymous"));
  });

  it("explains a used link and offers a new one", async () => {
    stubApi(() => problem(400, "This link is invalid or has expired."));
    await renderApp("/reset-password?token=used", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("New password"), "a new long password");
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/invalid, expired or used/);
    expect(screen.getByRole("link", { name: "Ask for a new reset link" })).toHaveAttribute(
      "href",
      "/forgot-password",
    );
    expect(screen.queryByLabelText("New password")).not.toBeInTheDocument();
  });

  it("shows a too short password next to its field", async () => {
    stubApi(() =>
      problem(422, "Check these fields: new_password.", [
        { field: "new_password", message: "String should have at least 10 characters" },
      ]),
    );
    await renderApp("/reset-password?token=tok-123", { loggedIn: false });
    await userEvent.type(screen.getByLabelText("New password"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    await waitFor(() =>
      expect(screen.getByLabelText("New password")).toHaveAccessibleDescription(
        expect.stringContaining("At least 10 characters."),
      ),
    );
  });

  it("without a token, offers no form but a new link", async () => {
    const log = stubApi(() => undefined);
    await renderApp("/reset-password", { loggedIn: false });
    expect(screen.queryByLabelText("New password")).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Ask for a new reset link" })).toBeInTheDocument();
    expect(log).toEqual([]);
  });
});

describe("VerifyEmailPage", () => {
  it("verifies on the click, then the banner goes", async () => {
    let verified = false;
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: { ...ME, email_verified: verified } };
      if (url.pathname === "/api/v1/auth/verify-email") {
        verified = true;
        return { status: 204 };
      }
      return undefined;
    });
    await renderApp("/verify-email?token=tok-9");
    expect(await screen.findByRole("region", { name: "Email verification" })).toBeInTheDocument();
    expect(log.some((entry) => entry.path === "/api/v1/auth/verify-email")).toBe(false);
    await userEvent.click(screen.getByRole("button", { name: "Verify my email" }));
    expect(await screen.findByText("Your email is verified.")).toBeInTheDocument();
    const sent = log.find((entry) => entry.path === "/api/v1/auth/verify-email");
    expect(JSON.parse(sent?.body ?? "")).toEqual({ token: "tok-9" });
    await waitFor(() =>
      expect(screen.queryByRole("region", { name: "Email verification" })).not.toBeInTheDocument(),
    );
  });

  it("after a used link, a logged-in visitor can ask for a new one", async () => {
    const log = stubApi((_request, url) => {
      if (url.pathname === "/api/v1/users/me") return { body: { ...ME, email_verified: false } };
      if (url.pathname === "/api/v1/auth/verify-email") return problem(400, "Invalid link.");
      if (url.pathname === "/api/v1/auth/verify-email/resend") return { status: 202 };
      return undefined;
    });
    await renderApp("/verify-email?token=used");
    await userEvent.click(screen.getByRole("button", { name: "Verify my email" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/invalid or used/);
    await userEvent.click(screen.getByRole("button", { name: "Send a new link" }));
    expect(await screen.findByText(/A new link is on its way/)).toBeInTheDocument();
    expect(log.filter((entry) => entry.path === "/api/v1/auth/verify-email/resend")).toHaveLength(
      1,
    );
  });

  it("an anonymous visitor with a used link is sent to log in for a new one", async () => {
    stubApi(() => problem(400, "Invalid link."));
    await renderApp("/verify-email?token=used", { loggedIn: false });
    await userEvent.click(screen.getByRole("button", { name: "Verify my email" }));
    expect(
      await screen.findByRole("link", { name: "Log in to get a new link" }),
    ).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Send a new link" })).not.toBeInTheDocument();
  });
});
