import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createMemoryHistory, RouterProvider } from "@tanstack/react-router";
import { render } from "@testing-library/react";
import { vi } from "vitest";
import { signIn, signOut } from "../auth/session";
import { makeRouter } from "../router";

export type Reply = { status?: number; body?: unknown; headers?: Record<string, string> };
/** Answers a request (method + path with query) like the API would. */
export type Handler = (request: Request, url: URL) => Reply | undefined;

export type FetchLog = { method: string; path: string; body: string }[];

export const problem = (
  status: number,
  detail: string,
  errors?: { field: string; message: string }[],
): Reply => ({
  status,
  body: {
    type: "urn:phresh:problem:test",
    title: "Problem",
    status,
    detail,
    ...(errors ? { errors: errors.map((error) => ({ ...error, type: "value_error" })) } : {}),
  },
});

/**
 * Stub fetch with `handler`; every request is logged. An unhandled request answers a 404 problem
 * so a test sees what it forgot.
 */
export function stubApi(handler: Handler): FetchLog {
  const log: FetchLog = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request =
        input instanceof Request
          ? input
          : new Request(new URL(String(input), "http://localhost"), init);
      const url = new URL(request.url);
      log.push({
        method: request.method,
        path: url.pathname + url.search,
        body: await request.clone().text(),
      });
      const reply =
        handler(request, url) ?? problem(404, `No stub for ${request.method} ${url.pathname}`);
      const status = reply.status ?? 200;
      const body = status === 204 || reply.body === undefined ? null : JSON.stringify(reply.body);
      return new Response(body, {
        status,
        headers: { "Content-Type": "application/json", ...reply.headers },
      });
    }),
  );
  return log;
}

export const ME = {
  id: 1,
  username: "alice",
  email: "alice@example.com",
  email_verified: true,
  is_active: true,
  is_superuser: false,
  created_at: "2026-11-01T10:00:00Z",
  profile: { full_name: "Alice", phone_number: null, bio: null, image_url: null },
};

/** Render the whole app at `url` (logged in unless told otherwise) with a fresh query cache. */
export async function renderApp(url: string, { loggedIn = true } = {}) {
  if (loggedIn) signIn("test-access-token");
  else signOut("none");
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
  const router = makeRouter(queryClient, createMemoryHistory({ initialEntries: [url] }));
  await router.load();
  const view = render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { ...view, router, queryClient };
}
