/**
 * axe-core on every page, on a desktop and on a phone (375 px): no violation of impact serious
 * or critical (the others are printed), and no page scrolls sideways on the phone.
 */
import AxeBuilder from "@axe-core/playwright";
import { type Browser, expect, type Page, test } from "@playwright/test";
import {
  type Account,
  BASE_URL,
  completeCleaning,
  createCleaning,
  logInContext,
  makeOffer,
  newCleaning,
  newPerson,
  type Person,
  register,
  settled,
} from "./helpers";

type Viewer = "anonymous" | "owner" | "cleaner";
type Screen = { name: string; viewer: Viewer; path: () => string };

const world: { owner?: Account; cleaner?: Account; openId?: number } = {};

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the setup did not make ${what}`);
  return value;
}

const openCleaning = () => `/cleanings/${need(world.openId, "a cleaning")}`;

const SCREENS: Screen[] = [
  { name: "login", viewer: "anonymous", path: () => "/login" },
  { name: "signup", viewer: "anonymous", path: () => "/signup" },
  { name: "forgot password", viewer: "anonymous", path: () => "/forgot-password" },
  { name: "reset password", viewer: "anonymous", path: () => "/reset-password?token=abc" },
  { name: "reset password without a token", viewer: "anonymous", path: () => "/reset-password" },
  { name: "verify email", viewer: "anonymous", path: () => "/verify-email?token=abc" },
  { name: "marketplace", viewer: "owner", path: () => "/" },
  { name: "cleaning, as its owner", viewer: "owner", path: openCleaning },
  { name: "cleaning, as a cleaner", viewer: "cleaner", path: openCleaning },
  { name: "new cleaning", viewer: "owner", path: () => "/cleanings/new" },
  { name: "edit cleaning", viewer: "owner", path: () => `${openCleaning()}/edit` },
  { name: "my cleanings", viewer: "owner", path: () => "/my/cleanings" },
  { name: "my offers", viewer: "cleaner", path: () => "/my/offers" },
  {
    name: "user page",
    viewer: "owner",
    path: () => `/users/${need(world.cleaner, "a cleaner").username}`,
  },
  { name: "settings", viewer: "owner", path: () => "/settings" },
  { name: "feed", viewer: "cleaner", path: () => "/feed" },
  { name: "not found", viewer: "owner", path: () => "/no-such-page" },
];

const VIEWPORTS = [
  { label: "desktop", viewport: { width: 1280, height: 800 } },
  { label: "phone", viewport: { width: 375, height: 812 } },
];

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  const owner = await register(api, newPerson("owner"));
  const cleaner = await register(api, newPerson("cleaner"));
  const other = await register(api, newPerson("rival"));
  world.openId = await createCleaning(api, owner, newCleaning("Attic tidy-up"));
  await makeOffer(api, cleaner, world.openId);
  await makeOffer(api, other, world.openId);
  await completeCleaning(api, owner, cleaner, newCleaning("Garage sweep"), {
    overall_rating: 4,
    professionalism: 5,
    headline: "On time and thorough",
    comment: "Left the garage spotless.",
  });
  await api.dispose();
  world.owner = owner;
  world.cleaner = cleaner;
});

async function openAs(
  browser: Browser,
  viewer: Viewer,
  viewport: { width: number; height: number },
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const who: Person | undefined = viewer === "anonymous" ? undefined : world[viewer];
  if (who) await logInContext(context, who);
  return context.newPage();
}

for (const { label, viewport } of VIEWPORTS) {
  test.describe(label, () => {
    // One browser context per viewer, for every page of this size: each page is a full load.
    const pages = new Map<Viewer, Page>();
    test.beforeAll(async ({ browser }) => {
      for (const viewer of ["anonymous", "owner", "cleaner"] as const) {
        pages.set(viewer, await openAs(browser, viewer, viewport));
      }
    });
    test.afterAll(async () => {
      for (const page of pages.values()) await page.context().close();
    });

    for (const screen of SCREENS) {
      test(screen.name, async () => {
        const page = need(pages.get(screen.viewer), `a page for ${screen.viewer}`);
        await page.goto(screen.path());
        await settled(page);

        const results = await new AxeBuilder({ page }).analyze();
        const blocking = results.violations.filter(
          (violation) => violation.impact === "serious" || violation.impact === "critical",
        );
        for (const violation of results.violations.filter((v) => !blocking.includes(v))) {
          console.log(
            `[${label}] ${screen.name}: ${violation.impact} ${violation.id}: ${violation.help} ` +
              `(${violation.nodes.length} node(s): ${violation.nodes
                .slice(0, 3)
                .map((node) => node.target.join(" "))
                .join(", ")})`,
          );
        }
        expect
          .soft(
            blocking.map((violation) => ({
              id: violation.id,
              impact: violation.impact,
              help: violation.help,
              nodes: violation.nodes.map(
                (node) => `${node.target.join(" ")}: ${node.failureSummary}`,
              ),
            })),
            `serious or critical axe violations on ${screen.path()}`,
          )
          .toEqual([]);

        if (viewport.width < 600) {
          const overflow = await page.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          expect.soft(overflow, `${screen.path()} scrolls sideways by ${overflow}px`).toBe(0);
        }
      });
    }
  });
}
