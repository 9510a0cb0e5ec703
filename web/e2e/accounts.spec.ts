/** Accounts: a forgotten password reset from the real mail, and what logging out ends. */
import { expect, test } from "@playwright/test";
import { BASE_URL, expectLoggedIn, logIn, newPerson, register } from "./helpers";
import { mailLink } from "./mail";

test("a forgotten password is reset from the mailed link; the old one stops working", async ({
  page,
  playwright,
}) => {
  // Registered elsewhere (an API client of its own): this browser has no session.
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  const person = await register(api, newPerson("forgetful"));
  await api.dispose();
  const newPassword = "a brand new passphrase";

  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email", { exact: true }).fill(person.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(
    page.getByRole("status").filter({ hasText: "a reset link is on its way" }),
  ).toBeVisible();

  await page.goto(await mailLink(person.email, "reset-password", BASE_URL));
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(
    page.getByRole("status").filter({ hasText: "Your password is changed" }),
  ).toBeVisible();

  await page.getByRole("link", { name: "Log in", exact: true }).last().click();
  await page.getByLabel("Username or email", { exact: true }).fill(person.username);
  await page.getByLabel("Password", { exact: true }).fill(person.password);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toHaveCount(0);

  await page.getByLabel("Password", { exact: true }).fill(newPassword);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expectLoggedIn(page);
  await expect(page.getByRole("heading", { level: 1, name: "Marketplace" })).toBeVisible();
});

test("a reload keeps the session; logging out ends it, here and on the server", async ({
  page,
  browser,
}) => {
  const person = await register(page.context().request, newPerson("leaver"));
  // The browser logs in by the form (the cookie of the registration is dropped first).
  await page.context().clearCookies();
  await logIn(page, person.email, person.password);

  await test.step("a reload keeps you logged in (the refresh cookie)", async () => {
    await page.getByRole("link", { name: "My offers", exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: "My offers" })).toBeVisible();
    await page.reload();
    await expect(page.getByRole("heading", { level: 1, name: "My offers" })).toBeVisible();
    await expectLoggedIn(page);
  });

  const cookiesBefore = await page.context().cookies();
  expect(cookiesBefore.length).toBeGreaterThan(0);

  await test.step("log out: at the login page, and a reload stays logged out", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
    await page.goto("/my/offers");
    await expect(page).toHaveURL(/\/login\?next=/);
    await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
  });

  await test.step("the session is gone on the server: its old cookie opens nothing", async () => {
    const other = await browser.newContext();
    await other.addCookies(cookiesBefore);
    const stale = await other.newPage();
    await stale.goto("/my/offers");
    await expect(stale).toHaveURL(/\/login\?next=/);
    await expect(stale.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
    await other.close();
  });
});
