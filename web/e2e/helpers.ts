/**
 * What the specs share: people with unique names, the steps a person takes in the web app
 * (by roles and accessible names only), and a setup through the API for the pages a spec only
 * looks at.
 */
import { type APIRequestContext, type BrowserContext, expect, type Page } from "@playwright/test";
import { mailLink } from "./mail";

export const BASE_URL = `http://127.0.0.1:${process.env.E2E_PORT ?? "8765"}`;
/** Asks the API for the refresh cookie, as the web app does. */
export const WEB_CLIENT = { "X-Phresh-Client": "web" } as const;

export type Person = { username: string; email: string; password: string };
export type CleaningInput = {
  name: string;
  description: string;
  type: "Dust up" | "Spot clean" | "Full clean";
  price: string;
};

let counter = 0;

/** A name no earlier run used: the database outlives a run when the server is reused. */
export function unique(prefix: string): string {
  counter += 1;
  const stamp = Date.now().toString(36).slice(-6);
  const random = Math.floor(Math.random() * 36 ** 3).toString(36);
  return `${prefix}-${stamp}${random}${counter}`;
}

export function newPerson(role: string): Person {
  const username = unique(role);
  return { username, email: `${username}@example.com`, password: "correct horse battery staple" };
}

export function newCleaning(label: string): CleaningInput {
  return {
    name: `${label} ${unique("c")}`,
    description: "Two bedrooms, a kitchen and a bathroom. Bring your own vacuum.",
    type: "Full clean",
    price: "35",
  };
}

/** The live-event toasts of the layout. */
export function toasts(page: Page) {
  return page.getByTestId("live-events");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A toast says who did what (a verb: "offered", "accepted", ...) to which cleaning. */
export async function expectToast(page: Page, who: string, verb: string, cleaning: string) {
  const sentence = `${escapeRegExp(who)} ${verb}\\b.*${escapeRegExp(cleaning)}`;
  await expect(toasts(page)).toContainText(new RegExp(sentence));
}

/** Logged in: the main navigation and the log-out button are there. */
export async function expectLoggedIn(page: Page): Promise<void> {
  await expect(page.getByRole("button", { name: "Log out", exact: true })).toBeVisible();
}

export async function signUp(page: Page, person: Person): Promise<void> {
  await page.goto("/signup");
  await page.getByLabel("Username", { exact: true }).fill(person.username);
  await page.getByLabel("Email", { exact: true }).fill(person.email);
  await page.getByLabel("Password", { exact: true }).fill(person.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expectLoggedIn(page);
}

export async function logIn(page: Page, login: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Username or email", { exact: true }).fill(login);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expectLoggedIn(page);
}

/** Open the link of the verification mail, as its recipient would, and confirm. */
export async function verifyEmail(page: Page, person: Person): Promise<void> {
  const link = await mailLink(person.email, "verify-email", BASE_URL);
  await page.goto(link);
  await page.getByRole("button", { name: "Verify my email" }).click();
  await expect(
    page.getByRole("status").filter({ hasText: "Your email is verified" }),
  ).toBeVisible();
}

/** Post a cleaning from the navigation's "Post a cleaning"; its id, from the page it opens. */
export async function postCleaning(page: Page, cleaning: CleaningInput): Promise<number> {
  await page.getByRole("link", { name: "Post a cleaning" }).click();
  await page.getByLabel("Name", { exact: true }).fill(cleaning.name);
  await page.getByLabel("Description", { exact: true }).fill(cleaning.description);
  await page.getByLabel("Type", { exact: true }).selectOption({ label: cleaning.type });
  await page.getByLabel("Price per hour", { exact: true }).fill(cleaning.price);
  await page.getByRole("button", { name: "Post cleaning" }).click();
  await expect(page.getByRole("heading", { level: 1, name: cleaning.name })).toBeVisible();
  return cleaningIdOf(page);
}

export function cleaningIdOf(page: Page): number {
  const match = /\/cleanings\/(\d+)$/.exec(new URL(page.url()).pathname);
  if (!match?.[1]) throw new Error(`not on a cleaning's page: ${page.url()}`);
  return Number(match[1]);
}

/** Find a cleaning in the marketplace by its name, and open it. */
export async function openFromMarketplace(page: Page, name: string): Promise<void> {
  await page.getByRole("link", { name: "Marketplace", exact: true }).click();
  await page.getByLabel("Search cleanings", { exact: true }).fill(name);
  await page.getByLabel("Search cleanings", { exact: true }).press("Enter");
  const cleanings = page.getByRole("list", { name: "Cleanings" });
  await cleanings.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
}

/** The item of the owner's list of offers that names the cleaner `username`. */
export function offerOf(page: Page, username: string) {
  return page
    .getByRole("region", { name: "Offers", exact: true })
    .getByRole("listitem")
    .filter({ has: page.getByRole("link", { name: username, exact: true }) });
}

// ---- Setup through the API, for the specs that look at pages rather than walk to them ----

export type Account = Person & { token: string };

/**
 * Register through the API. With a browser context's request, the refresh cookie lands in that
 * context: its pages open logged in, as after a reload.
 */
export async function register(
  request: APIRequestContext,
  person: Person = newPerson("user"),
): Promise<Account> {
  const response = await request.post("/api/v1/users", {
    headers: WEB_CLIENT,
    data: { username: person.username, email: person.email, password: person.password },
  });
  expect(response.status(), await response.text()).toBe(201);
  const body = (await response.json()) as { access_token: string };
  return { ...person, token: body.access_token };
}

/** Verify `account`'s email with the token of the mail it received, as the verify page does. */
export async function verifyByMail(request: APIRequestContext, account: Account): Promise<void> {
  const link = await mailLink(account.email, "verify-email", BASE_URL);
  const token = new URL(link).searchParams.get("token");
  const response = await request.post("/api/v1/auth/verify-email", { data: { token } });
  expect(response.ok(), await response.text()).toBe(true);
}

/**
 * Log `person` in through the API in `context`: a session of its own, whose refresh cookie is
 * then the context's. (A refresh cookie works once: copied into two contexts, the second use
 * would end the session as a stolen one. Each context logs in for itself.)
 */
export async function logInContext(context: BrowserContext, person: Person): Promise<void> {
  const response = await context.request.post("/api/v1/auth/token", {
    headers: WEB_CLIENT,
    form: { grant_type: "password", username: person.username, password: person.password },
  });
  expect(response.status(), await response.text()).toBe(200);
}

async function call(
  request: APIRequestContext,
  account: Account,
  method: "POST" | "PATCH",
  url: string,
  data?: unknown,
): Promise<unknown> {
  const response = await request.fetch(url, {
    method,
    headers: { Authorization: `Bearer ${account.token}` },
    ...(data === undefined ? {} : { data }),
  });
  expect(response.ok(), `${method} ${url}: ${await response.text()}`).toBe(true);
  return response.json();
}

const TYPE_VALUES = {
  "Dust up": "dust_up",
  "Spot clean": "spot_clean",
  "Full clean": "full_clean",
};

export async function createCleaning(
  request: APIRequestContext,
  owner: Account,
  cleaning: CleaningInput,
): Promise<number> {
  const created = (await call(request, owner, "POST", "/api/v1/cleanings", {
    name: cleaning.name,
    description: cleaning.description,
    cleaning_type: TYPE_VALUES[cleaning.type],
    price: cleaning.price,
  })) as { id: number };
  return created.id;
}

export async function makeOffer(
  request: APIRequestContext,
  cleaner: Account,
  cleaningId: number,
): Promise<void> {
  await call(request, cleaner, "POST", `/api/v1/cleanings/${cleaningId}/offers`);
}

export async function acceptOffer(
  request: APIRequestContext,
  owner: Account,
  cleaningId: number,
  cleaner: Account,
): Promise<void> {
  await call(
    request,
    owner,
    "POST",
    `/api/v1/cleanings/${cleaningId}/offers/${cleaner.username}/accept`,
  );
}

export async function evaluate(
  request: APIRequestContext,
  owner: Account,
  cleaningId: number,
  evaluation: { overall_rating: number; headline?: string; comment?: string } & Record<
    string,
    unknown
  >,
): Promise<void> {
  await call(request, owner, "POST", `/api/v1/cleanings/${cleaningId}/evaluation`, evaluation);
}

/** A cleaning done by `cleaner` and rated by `owner`: what a public page's stats count. */
export async function completeCleaning(
  request: APIRequestContext,
  owner: Account,
  cleaner: Account,
  cleaning: CleaningInput,
  evaluation: { overall_rating: number } & Record<string, unknown>,
): Promise<number> {
  const id = await createCleaning(request, owner, cleaning);
  await makeOffer(request, cleaner, id);
  await acceptOffer(request, owner, id, cleaner);
  await evaluate(request, owner, id, evaluation);
  return id;
}

/** Wait until the page's pending indicators ("Loading…") are gone. */
export async function settled(page: Page): Promise<void> {
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: /^Loading/ })).toHaveCount(0);
}
