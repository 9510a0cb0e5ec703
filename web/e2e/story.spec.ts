/**
 * The marketplace's story, by two people in two browsers: an owner and a cleaner sign up and
 * verify their email from the real mail, the owner posts a cleaning, the cleaner offers, the
 * owner accepts and rates the cleaner; each sees the other's moves live, without reloading.
 */
import { type Browser, expect, type Page, test } from "@playwright/test";
import {
  expectToast,
  newCleaning,
  newPerson,
  offerOf,
  openFromMarketplace,
  type Person,
  postCleaning,
  signUp,
  verifyEmail,
} from "./helpers";

async function personIn(browser: Browser, role: string): Promise<{ page: Page; person: Person }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const person = newPerson(role);
  await signUp(page, person);
  return { page, person };
}

/** Count the document loads of a page: live updates must not need one. */
async function countLoads(page: Page): Promise<() => number> {
  let loads = 0;
  page.on("load", () => {
    loads += 1;
  });
  return () => loads;
}

test("an owner and a cleaner: post, offer, accept, evaluate, all live", async ({ browser }) => {
  const { page: owner, person: ownerPerson } = await personIn(browser, "owner");
  const { page: cleaner, person: cleanerPerson } = await personIn(browser, "cleaner");
  const cleaning = newCleaning("Spring clean");

  await test.step("both verify their email from the mail they received", async () => {
    await expect(owner.getByRole("region", { name: "Email verification" })).toBeVisible();
    await verifyEmail(owner, ownerPerson);
    await verifyEmail(cleaner, cleanerPerson);
    await owner.getByRole("link", { name: "Go to the marketplace" }).click();
    await expect(owner.getByRole("heading", { level: 1, name: "Marketplace" })).toBeVisible();
    await expect(owner.getByRole("region", { name: "Email verification" })).toHaveCount(0);
  });

  await test.step("the owner posts a cleaning", async () => {
    await postCleaning(owner, cleaning);
    await expect(owner.getByRole("region", { name: "Offers" })).toContainText("No offers yet");
  });
  const ownerLoads = await countLoads(owner);

  await test.step("the cleaner finds it and makes an offer", async () => {
    await openFromMarketplace(cleaner, cleaning.name);
    await cleaner.getByRole("button", { name: "Make an offer" }).click();
    await expect(cleaner.getByRole("button", { name: "Withdraw offer" })).toBeVisible();
  });

  await test.step("the owner sees the offer arrive, and a toast, without reloading", async () => {
    await expect(offerOf(owner, cleanerPerson.username)).toBeVisible();
    await expectToast(owner, cleanerPerson.username, "offered", cleaning.name);
    expect(ownerLoads()).toBe(0);
  });
  const cleanerLoads = await countLoads(cleaner);

  await test.step("the owner accepts; the cleaner is told live", async () => {
    await offerOf(owner, cleanerPerson.username).getByRole("button", { name: "Accept" }).click();
    await expect(owner.getByRole("region", { name: "Your cleaner" })).toContainText(
      cleanerPerson.username,
    );
    await expectToast(cleaner, ownerPerson.username, "accepted", cleaning.name);
    await expect(cleaner.getByText("Your offer was accepted")).toBeVisible();
    expect(cleanerLoads()).toBe(0);
  });

  await test.step("the cleaner's offers say accepted", async () => {
    await cleaner.getByRole("link", { name: "My offers", exact: true }).click();
    const item = cleaner
      .getByRole("main")
      .getByRole("listitem")
      .filter({
        has: cleaner.getByRole("link", { name: cleaning.name }),
      });
    await expect(item).toContainText("Accepted");
  });

  await test.step("the owner rates the cleaner 4 stars", async () => {
    await owner.getByLabel("Overall rating", { exact: true }).selectOption("4");
    await owner.getByLabel("Professionalism", { exact: true }).selectOption("5");
    await owner.getByLabel("Headline", { exact: true }).fill("Spotless kitchen");
    await owner.getByRole("button", { name: "Submit evaluation" }).click();
    await expect(owner.getByRole("heading", { level: 2, name: "Completed" })).toBeVisible();
    await expect(owner.getByRole("button", { name: "Submit evaluation" })).toHaveCount(0);
  });

  await test.step("the cleaner's public page counts it", async () => {
    await owner
      .getByRole("region", { name: "Completed" })
      .getByRole("link", {
        name: cleanerPerson.username,
      })
      .click();
    await expect(
      owner.getByRole("heading", { level: 1, name: cleanerPerson.username }),
    ).toBeVisible();
    const histogram = owner.getByRole("list", { name: "Ratings by stars" });
    await expect(histogram.getByRole("listitem").filter({ hasText: "4 stars" })).toHaveText(
      /4 stars:\s*1 rating/,
    );
    await expect(histogram.getByRole("listitem").filter({ hasText: "5 stars" })).toHaveText(
      /5 stars:\s*0 ratings/,
    );
    await expect(owner.getByRole("heading", { level: 3, name: "Spotless kitchen" })).toBeVisible();
  });

  await test.step("the cleaner is told of the evaluation", async () => {
    await expectToast(cleaner, ownerPerson.username, "rated", cleaning.name);
  });

  await test.step("the feed shows the cleaning", async () => {
    await cleaner.getByRole("link", { name: "Feed", exact: true }).click();
    await expect(cleaner.getByRole("heading", { level: 1, name: "Feed" })).toBeVisible();
    const posted = cleaner
      .getByRole("main")
      .getByRole("listitem")
      .filter({ hasText: `${ownerPerson.username} posted` });
    await expect(posted.getByRole("link", { name: cleaning.name })).toBeVisible();
  });
});

test("a cleaner withdraws an offer, offers again, and cancels the job", async ({ browser }) => {
  const { page: owner } = await personIn(browser, "owner");
  const { page: cleaner, person: cleanerPerson } = await personIn(browser, "cleaner");
  const cleaning = newCleaning("Window wash");
  await postCleaning(owner, cleaning);

  await test.step("offer, then withdraw: the owner sees both live", async () => {
    await openFromMarketplace(cleaner, cleaning.name);
    await cleaner.getByRole("button", { name: "Make an offer" }).click();
    await expect(offerOf(owner, cleanerPerson.username)).toBeVisible();
    await cleaner.getByRole("button", { name: "Withdraw offer" }).click();
    await expect(cleaner.getByRole("button", { name: "Make an offer" })).toBeVisible();
    await expectToast(owner, cleanerPerson.username, "withdrew", cleaning.name);
    await expect(offerOf(owner, cleanerPerson.username)).toHaveCount(0);
  });

  await test.step("offer again, accepted, then the cleaner cancels the job", async () => {
    await cleaner.getByRole("button", { name: "Make an offer" }).click();
    await offerOf(owner, cleanerPerson.username).getByRole("button", { name: "Accept" }).click();
    await cleaner.getByRole("button", { name: "Cancel job" }).click();
    await cleaner.getByRole("button", { name: "Yes, cancel the job" }).click();
    await expect(cleaner.getByText("You cancelled this job.")).toBeVisible();
    await expectToast(owner, cleanerPerson.username, "cancelled", cleaning.name);
    // The cleaning is open again, the offer cancelled: the owner's page shows it unreloaded.
    await expect(owner.getByRole("main").getByText("Open", { exact: true })).toBeVisible();
    await expect(owner.getByRole("region", { name: "Your cleaner" })).toHaveCount(0);
    await expect(offerOf(owner, cleanerPerson.username)).toContainText("Cancelled");
  });
});
