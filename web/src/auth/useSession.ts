import { useQuery } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import { api, unwrap } from "../api/client";
import { getSession, type SessionState, subscribe } from "./session";

export function useSession(): SessionState {
  return useSyncExternalStore(subscribe, getSession);
}

export const meQueryKey = ["me"] as const;

/** The logged-in user (GET /users/me), or undefined while anonymous or loading. */
export function useMe() {
  const session = useSession();
  return useQuery({
    queryKey: meQueryKey,
    queryFn: async () => unwrap(await api.GET("/api/v1/users/me")),
    enabled: session.status === "authenticated",
    staleTime: 60_000,
  });
}
