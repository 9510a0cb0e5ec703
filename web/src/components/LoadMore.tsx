/*
 * The end of an endless list: <LoadMore list={list} /> where `list` comes from
 * useInfiniteList (./useInfiniteList.ts). It renders
 * - an invisible sentinel: when it scrolls into view (IntersectionObserver, where the browser
 *   has one), the next page loads by itself;
 * - a visible "Load more" button (keyboard users, and browsers or jsdom without
 *   IntersectionObserver); `label` renames it, e.g. "Load more offers";
 * - progress (role=status) while a page loads, and the error when a page failed (the button
 *   stays to try again; the sentinel then waits for a click instead of retrying in a loop).
 * Nothing is rendered once the last page is loaded.
 */
import { useEffect, useRef } from "react";
import { errorMessage } from "../api/client";
import { Pending } from "./status";
import type { InfiniteList } from "./useInfiniteList";
import "./LoadMore.css";

export function LoadMore<T>({
  list,
  label = "Load more",
}: {
  list: InfiniteList<T>;
  label?: string;
}) {
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasMore, isLoadingMore, loadMoreError, loadMore } = list;
  const autoLoad = hasMore && !isLoadingMore && loadMoreError === null;

  useEffect(() => {
    const target = sentinel.current;
    if (!autoLoad || target === null || typeof IntersectionObserver === "undefined") return;
    // autoLoad turns off while a page loads, so each page gets a new observer; it reports the
    // current state at once, so a sentinel still in view after a short page loads the next.
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadMore();
      },
      { rootMargin: "200px 0px" },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [autoLoad, loadMore]);

  if (!hasMore) return null;
  return (
    <div className="load-more">
      <div ref={sentinel} aria-hidden="true" />
      {loadMoreError ? (
        <p className="form-error" role="alert">
          {errorMessage(loadMoreError)}
        </p>
      ) : null}
      {isLoadingMore ? <Pending label="Loading more…" /> : null}
      <button type="button" onClick={loadMore} aria-busy={isLoadingMore || undefined}>
        {label}
      </button>
    </div>
  );
}
