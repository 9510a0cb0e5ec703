/**
 * The README's screenshots and two figures of the marketplace's cold load with a session:
 * first contentful paint, and the first cleaning on screen. The figures go to
 * web/e2e-figures.json and are printed. The screenshots go to test-results/screenshots, or
 * where E2E_SCREENSHOTS_DIR says: `make web-screenshots` renews docs/screenshots/ with them
 * (each run draws new names, so every test run would change the committed pictures).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, expect, type Page, test } from "@playwright/test";
import {
  type Account,
  BASE_URL,
  type CleaningInput,
  completeCleaning,
  createCleaning,
  logInContext,
  makeOffer,
  newPerson,
  register,
  settled,
  unique,
  verifyByMail,
} from "./helpers";

const SCREENSHOTS =
  process.env.E2E_SCREENSHOTS_DIR ??
  fileURLToPath(new URL("../test-results/screenshots", import.meta.url));
const FIGURES = fileURLToPath(new URL("../e2e-figures.json", import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const SAMPLES = 5;

const CLEANINGS: CleaningInput[] = [
  {
    name: "Move-out full clean, 2-bedroom flat",
    description: "Empty flat, oven and fridge included. Keys with the concierge.",
    type: "Full clean",
    price: "42",
  },
  {
    name: "Weekly dust-up",
    description: "Living room and study, every Friday morning.",
    type: "Dust up",
    price: "22.50",
  },
  {
    name: "Bathroom scrub after renovation",
    description: "Plaster dust on every tile; the grout needs care.",
    type: "Spot clean",
    price: "30",
  },
  {
    name: "Post-party tidy-up",
    description: "Kitchen, living room and a balcony. Bags and gloves provided.",
    type: "Spot clean",
    price: "28",
  },
  {
    name: "Spring clean, 3 rooms",
    description: "Windows inside and out, skirting boards, and the curtains taken down to wash.",
    type: "Full clean",
    price: "35",
  },
];

const world: { owner?: Account; cleaner?: Account; withOffers?: number } = {};

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the setup did not make ${what}`);
  return value;
}

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({ baseURL: BASE_URL });
  const owner = await register(api, newPerson("maria"));
  const cleaner = await register(api, newPerson("ben"));
  const others = [await register(api, newPerson("chloe")), await register(api, newPerson("dev"))];
  // Verified, as people who use Phresh are: no banner asking for it in the pictures.
  for (const account of [owner, cleaner, ...others]) await verifyByMail(api, account);
  // Rated work first, so that the marketplace's newest are the open cleanings below.
  const ratings = [5, 4, 5, 3, 4, 5];
  for (const [index, rating] of ratings.entries()) {
    await completeCleaning(
      api,
      owner,
      cleaner,
      {
        name: `Done job ${unique("j")}`,
        description: "",
        type: "Spot clean",
        price: "25",
      },
      {
        overall_rating: rating,
        professionalism: Math.min(5, rating + 1),
        completeness: rating,
        efficiency: rating,
        headline: ["Spotless", "Careful with the antiques", "Fast and tidy"][index % 3] ?? null,
        comment: index === 0 ? "Arrived early and left the kitchen shining." : null,
      },
    );
  }
  let last = 0;
  for (const cleaning of CLEANINGS) last = await createCleaning(api, owner, cleaning);
  for (const who of [cleaner, ...others]) await makeOffer(api, who, last);
  await api.dispose();
  world.owner = owner;
  world.cleaner = cleaner;
  world.withOffers = last;
});

async function pageAs(
  browser: Browser,
  account: Account,
  viewport: { width: number; height: number },
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  await logInContext(context, account);
  return context.newPage();
}

async function shoot(page: Page, name: string): Promise<void> {
  await settled(page);
  // The web fonts are in: the picture is the page as people see it.
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}.png`),
    scale: "css",
    animations: "disabled",
  });
}

test("screenshots", async ({ browser }) => {
  const owner = need(world.owner, "an owner");
  const cleaner = need(world.cleaner, "a cleaner");

  const desktop = await pageAs(browser, owner, DESKTOP);
  await desktop.goto("/");
  await expect(
    desktop.getByRole("list", { name: "Cleanings" }).getByRole("listitem").first(),
  ).toBeVisible();
  await shoot(desktop, "marketplace-desktop");

  await desktop.goto(`/cleanings/${need(world.withOffers, "a cleaning")}`);
  await expect(
    desktop.getByRole("region", { name: "Offers" }).getByRole("button", { name: "Accept" }),
  ).toHaveCount(3);
  await shoot(desktop, "cleaning-offers-desktop");
  await desktop.context().close();

  const phone = await pageAs(browser, owner, PHONE);
  await phone.goto("/");
  await expect(
    phone.getByRole("list", { name: "Cleanings" }).getByRole("listitem").first(),
  ).toBeVisible();
  await shoot(phone, "marketplace-phone");

  await phone.goto(`/users/${cleaner.username}`);
  await expect(phone.getByRole("list", { name: "Ratings by stars" })).toBeVisible();
  await shoot(phone, "user-ratings-phone");
  await phone.context().close();
});

type Sample = { firstContentfulPaintMs: number; firstCleaningMs: number };

/** One cold load of the marketplace in a new browser context that holds a session. */
async function coldLoad(browser: Browser, account: Account): Promise<Sample> {
  const context = await browser.newContext({ viewport: DESKTOP });
  await logInContext(context, account);
  // Marks the moment the first cleaning of the list is in the document.
  await context.addInitScript(() => {
    const observer = new MutationObserver(() => {
      if (document.querySelector('ul[aria-label="Cleanings"] > li')) {
        performance.mark("first-cleaning");
        observer.disconnect();
      }
    });
    observer.observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  await page.goto("/");
  await expect(
    page.getByRole("list", { name: "Cleanings" }).getByRole("listitem").first(),
  ).toBeVisible();
  const sample = await page.evaluate(() => ({
    firstContentfulPaintMs:
      performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN,
    firstCleaningMs: performance.getEntriesByName("first-cleaning")[0]?.startTime ?? Number.NaN,
  }));
  await context.close();
  return sample;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1
      ? sorted[middle]
      : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
  return Math.round(value ?? Number.NaN);
}

test("figures: the marketplace's cold load", async ({ browser }) => {
  const owner = need(world.owner, "an owner");
  // A first load warms the server (its caches, the pool's connections); it is not counted.
  await coldLoad(browser, owner);
  const samples: Sample[] = [];
  for (let run = 0; run < SAMPLES; run++) samples.push(await coldLoad(browser, owner));
  for (const sample of samples) {
    expect(sample.firstContentfulPaintMs).toBeGreaterThan(0);
    expect(sample.firstCleaningMs).toBeGreaterThan(0);
  }
  const figures = {
    measured_at: new Date().toISOString(),
    browser: `chromium ${browser.version()}`,
    viewport: DESKTOP,
    samples: SAMPLES,
    marketplace_first_contentful_paint_ms: median(samples.map((s) => s.firstContentfulPaintMs)),
    marketplace_first_cleaning_ms: median(samples.map((s) => s.firstCleaningMs)),
    runs: samples.map((s) => ({
      first_contentful_paint_ms: Math.round(s.firstContentfulPaintMs),
      first_cleaning_ms: Math.round(s.firstCleaningMs),
    })),
  };
  await writeFile(FIGURES, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(
    `marketplace, cold load with a session (median of ${SAMPLES}): ` +
      `first contentful paint ${figures.marketplace_first_contentful_paint_ms} ms, ` +
      `first cleaning on screen ${figures.marketplace_first_cleaning_ms} ms`,
  );
});
