/*
 * Endless lists over the API's keyset pages (`{ items, next_cursor }`), with TanStack Query's
 * useInfiniteQuery. Pair it with <LoadMore list={list} /> (./LoadMore.tsx) after the list.
 *
 *   const list = useInfiniteList({
 *     queryKey: ["my-offers"],
 *     fetchPage: async (cursor, signal) =>
 *       unwrap(await api.GET("/api/v1/users/me/offers", { params: { query: { cursor } }, signal })),
 *   });
 *   if (list.isPending) return <Pending />;
 *   if (list.error) return <LoadError error={list.error} retry={list.retry} />;
 *   return <>{list.items.map(...)}<LoadMore list={list} /></>;
 *
 * `fetchPage` gets `undefined` for the first page, then each page's `next_cursor`. `error` is
 * set only when the first page failed (nothing to show); a failed next page is `loadMoreError`
 * and LoadMore shows it under the items already loaded. With `enabled: false` the list is not
 * pending and has no items.
 */
import { type QueryKey, useInfiniteQuery } from "@tanstack/react-query";
import { useCallback } from "react";

export type KeysetPage<T> = { items: T[]; next_cursor: string | null };

export type InfiniteList<T> = {
  /** The items of every page loaded so far, in order. */
  items: T[];
  /** The first page is loading. */
  isPending: boolean;
  /** Why the first page failed; null when it did not. */
  error: Error | null;
  /** Load everything again (for a "Try again" after `error`). */
  retry: () => void;
  /** The API said there is another page. */
  hasMore: boolean;
  /** The next page is loading. */
  isLoadingMore: boolean;
  /** Why the last "load more" failed; null when it did not. */
  loadMoreError: Error | null;
  loadMore: () => void;
};

export function useInfiniteList<T>(options: {
  queryKey: QueryKey;
  fetchPage: (cursor: string | undefined, signal: AbortSignal) => Promise<KeysetPage<T>>;
  enabled?: boolean;
}): InfiniteList<T> {
  const query = useInfiniteQuery({
    queryKey: options.queryKey,
    queryFn: ({ pageParam, signal }) => options.fetchPage(pageParam, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: options.enabled ?? true,
  });
  const { fetchNextPage, refetch } = query;
  // Stable, so LoadMore's observer is not rebuilt on every render. A call while a page loads
  // is ignored (one request at a time).
  const loadMore = useCallback(() => void fetchNextPage({ cancelRefetch: false }), [fetchNextPage]);
  const retry = useCallback(() => void refetch(), [refetch]);
  return {
    items: query.data?.pages.flatMap((page) => page.items) ?? [],
    isPending: query.isPending && query.fetchStatus !== "idle",
    error: query.data ? null : query.error,
    retry,
    hasMore: query.hasNextPage,
    isLoadingMore: query.isFetchingNextPage,
    loadMoreError: query.isFetchNextPageError ? query.error : null,
    loadMore,
  };
}
