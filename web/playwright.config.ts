import { fileURLToPath } from "node:url";
import { defineConfig } from "@playwright/test";

// The stack (tests/e2e/stack.py) serves the whole product on a throwaway database; its mail
// lands in $E2E_DIR/mail, which the specs read (e2e/mail.ts resolves the same default).
const repository = fileURLToPath(new URL("..", import.meta.url));
const port = process.env.E2E_PORT ?? "8765";
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  // One stack, one database, two cores: the specs run one after another.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: "list",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        browserName: "chromium",
        launchOptions: {
          executablePath: process.env.PHRESH_CHROMIUM ?? "/usr/bin/chromium",
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-quic",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  webServer: {
    command: ".venv/bin/python -m tests.e2e.stack",
    cwd: repository,
    env: { E2E_PORT: port },
    url: `${baseURL}/api/v1/health/ready`,
    timeout: 120_000,
    reuseExistingServer: !process.env.CI,
    stdout: "pipe",
    // The stack stops phresh serve, which stops the embedded PostgreSQL: give it the time.
    gracefulShutdown: { signal: "SIGTERM", timeout: 40_000 },
  },
});
