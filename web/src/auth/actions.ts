import type { QueryClient } from "@tanstack/react-query";
import { api, ensureOk, unwrap } from "../api/client";
import { CLIENT_HEADER, signIn, signOut } from "./session";

function form(values: Record<string, string>): URLSearchParams {
  return new URLSearchParams(values);
}

/** Log in with a username or an email; the refresh token comes back as a cookie. */
export async function logIn(login: string, password: string): Promise<void> {
  const token = unwrap(
    await api.POST("/api/v1/auth/token", {
      body: { grant_type: "password", username: login, password },
      bodySerializer: (body) => form(body as Record<string, string>),
      // openapi-fetch labels every body JSON unless told: the token endpoint takes a form.
      headers: { ...CLIENT_HEADER, "Content-Type": "application/x-www-form-urlencoded" },
    }),
  );
  signIn(token.access_token);
}

export async function register(username: string, email: string, password: string): Promise<void> {
  const answer = unwrap(
    await api.POST("/api/v1/users", {
      body: { username, email, password },
      headers: CLIENT_HEADER,
    }),
  );
  signIn(answer.access_token);
}

/**
 * End the session on the server (its tokens stop working and the cookie is cleared), then
 * forget it here. When the server cannot be told, nothing changes and the error is thrown:
 * the person is still logged in, and a reload would show it. A 401 means the session had
 * already ended.
 */
export async function logOut(queryClient: QueryClient): Promise<void> {
  const result = await api.POST("/api/v1/auth/logout", { headers: CLIENT_HEADER });
  if (result.response.status !== 401) ensureOk(result);
  signOut("logged-out");
  queryClient.clear();
}
