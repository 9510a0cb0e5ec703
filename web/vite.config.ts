import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `make web-dev`: Vite serves the app with hot reload and hands /api to `phresh serve`.
const api = process.env.PHRESH_API_ORIGIN ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: { port: 5173, strictPort: true, proxy: { "/api": { target: api } } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, assetsInlineLimit: 0 },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
  },
});
