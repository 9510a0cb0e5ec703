/**
 * The main story with the keyboard only: Tab, Shift+Tab, Enter, Space and typing. Nothing is
 * clicked or filled; the only navigation by URL is the first page (typed in the address bar).
 */
import { expect, type Locator, type Page, test } from "@playwright/test";
import { expectLoggedIn, newCleaning, newPerson, offerOf, type Person } from "./helpers";

const MAX_TABS = 80;

async function isFocused(target: Locator): Promise<boolean> {
  return target.evaluate((element) => element === document.activeElement);
}

/**
 * Press Tab (or Shift+Tab) until `target` has the focus; fail after MAX_TABS presses, naming
 * what had it last. What a keyboard user does to reach a control.
 */
async function tabTo(page: Page, target: Locator, { backwards = false } = {}): Promise<void> {
  await expect(target).toBeVisible();
  for (let presses = 0; presses < MAX_TABS; presses++) {
    if (await isFocused(target)) return;
    await page.keyboard.press(backwards ? "Shift+Tab" : "Tab");
  }
  if (await isFocused(target)) return;
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  throw new Error(`${MAX_TABS} presses of Tab did not reach ${target}; the focus is on ${focused}`);
}

/** Tab to a field and type into it. */
async function typeInto(page: Page, field: Locator, text: string): Promise<void> {
  await tabTo(page, field);
  await page.keyboard.type(text);
  await expect(field).toHaveValue(text);
}

async function press(page: Page, control: Locator, key: "Enter" | "Space"): Promise<void> {
  await tabTo(page, control);
  await page.keyboard.press(key);
}

/**
 * After a form's submission takes you to another page, the focus is on its main content or its
 * heading (not lost on the body, where the next Tab starts over from the top). Soft: the story
 * goes on, and every place that misses it is reported.
 */
async function expectFocusLanded(page: Page, after: string): Promise<void> {
  await expect
    .configure({ soft: true })
    .poll(
      () =>
        page.evaluate(() => {
          const focused = document.activeElement;
          return focused?.id === "main" || focused?.tagName === "H1"
            ? "main or h1"
            : (focused?.outerHTML.slice(0, 80) ?? "nothing");
        }),
      { message: `the focus after ${after}`, timeout: 3000 },
    )
    .toBe("main or h1");
}

function label(page: Page, name: string): Locator {
  return page.getByLabel(name, { exact: true });
}

async function signUpByKeyboard(page: Page, person: Person): Promise<void> {
  await page.goto("/signup");
  // The page is drawn once the session is known (a refresh is tried first).
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  // The first Tab of a page reaches the skip link; it moves the focus to the main content.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  await typeInto(page, label(page, "Username"), person.username);
  await typeInto(page, label(page, "Email"), person.email);
  await typeInto(page, label(page, "Password"), person.password);
  // Enter in a field submits its form.
  await page.keyboard.press("Enter");
  await expectLoggedIn(page);
  await expectFocusLanded(page, "signing up");
}

test("sign up, post, offer, accept and evaluate with the keyboard only", async ({ browser }) => {
  const owner = await (await browser.newContext()).newPage();
  const cleaner = await (await browser.newContext()).newPage();
  const ownerPerson = newPerson("kbowner");
  const cleanerPerson = newPerson("kbcleaner");
  const cleaning = newCleaning("Keyboard kitchen");

  await test.step("the owner signs up and posts a cleaning", async () => {
    await signUpByKeyboard(owner, ownerPerson);
    await press(owner, owner.getByRole("link", { name: "Post a cleaning" }), "Enter");
    await expect(owner.getByRole("heading", { level: 1, name: "Post a cleaning" })).toBeVisible();
    await typeInto(owner, label(owner, "Name"), cleaning.name);
    await typeInto(owner, label(owner, "Description"), cleaning.description);
    // A closed select takes the first letters of an option.
    await tabTo(owner, label(owner, "Type"));
    await owner.keyboard.type("Full");
    await expect(label(owner, "Type")).toHaveValue("full_clean");
    await typeInto(owner, label(owner, "Price per hour"), cleaning.price);
    await press(owner, owner.getByRole("button", { name: "Post cleaning" }), "Enter");
    await expect(owner.getByRole("heading", { level: 1, name: cleaning.name })).toBeVisible();
    await expectFocusLanded(owner, "posting a cleaning");
  });

  await test.step("a cleaner signs up, finds it and makes an offer", async () => {
    await signUpByKeyboard(cleaner, cleanerPerson);
    await expect(cleaner.getByRole("heading", { level: 1, name: "Marketplace" })).toBeVisible();
    await typeInto(cleaner, label(cleaner, "Search cleanings"), cleaning.name);
    await cleaner.keyboard.press("Enter");
    const result = cleaner
      .getByRole("list", { name: "Cleanings" })
      .getByRole("link", { name: cleaning.name });
    await press(cleaner, result, "Enter");
    await expect(cleaner.getByRole("heading", { level: 1, name: cleaning.name })).toBeVisible();
    await press(cleaner, cleaner.getByRole("button", { name: "Make an offer" }), "Space");
    await expect(cleaner.getByRole("button", { name: "Withdraw offer" })).toBeVisible();
  });

  await test.step("the owner accepts the offer", async () => {
    const accept = offerOf(owner, cleanerPerson.username).getByRole("button", { name: "Accept" });
    await press(owner, accept, "Enter");
    await expect(owner.getByRole("region", { name: "Your cleaner" })).toContainText(
      cleanerPerson.username,
    );
  });

  await test.step("the owner rates the cleaner", async () => {
    const overall = label(owner, "Overall rating");
    await tabTo(owner, overall);
    await owner.keyboard.type("4");
    await expect(overall).toHaveValue("4");
    await typeInto(owner, label(owner, "Headline"), "Quick and careful");
    // Back up to the no-show box and leave it unticked: Shift+Tab works too.
    const noShow = owner.getByRole("checkbox", { name: "The cleaner did not show up" });
    await tabTo(owner, noShow);
    await owner.keyboard.press("Space");
    await expect(noShow).toBeChecked();
    await owner.keyboard.press("Space");
    await expect(noShow).not.toBeChecked();
    await tabTo(owner, label(owner, "Headline"), { backwards: true });
    await press(owner, owner.getByRole("button", { name: "Submit evaluation" }), "Enter");
    await expect(owner.getByRole("heading", { level: 2, name: "Completed" })).toBeVisible();
  });
});
