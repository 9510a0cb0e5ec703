import { Link } from "@tanstack/react-router";
import { api, type Schemas, unwrap } from "../api/client";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, PageTitle, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { pricePerHour } from "../format";
import { TimeAgo } from "./listParts";

export const feedQueryKey = ["feed"] as const;

export function FeedPage() {
  const list = useInfiniteList({
    queryKey: feedQueryKey,
    fetchPage: async (cursor, signal) =>
      unwrap(await api.GET("/api/v1/feed/cleanings", { params: { query: { cursor } }, signal })),
  });

  return (
    <>
      <PageTitle>Feed</PageTitle>
      <p className="meta">What was posted and changed on Phresh lately, newest first.</p>
      {list.isPending ? <Pending label="Loading the feed…" /> : null}
      {list.error ? <LoadError error={list.error} retry={list.retry} /> : null}
      {!list.isPending && !list.error && list.items.length === 0 ? (
        <Empty>Nothing has happened yet.</Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul className="feed-list">
          {list.items.map((item) => (
            <FeedEntry key={`${item.cleaning.id}-${item.event}-${item.event_at}`} item={item} />
          ))}
        </ul>
      ) : null}
      <LoadMore list={list} label="Load more of the feed" />
    </>
  );
}

function FeedEntry({ item }: { item: Schemas["FeedItem"] }) {
  const { cleaning } = item;
  // The feed says what happened and when; the price it carries is today's (an item does not
  // keep the price it had then), so it is shown as the current one.
  return (
    <li>
      <p>
        <Link to="/users/$username" params={{ username: cleaning.owner }}>
          {cleaning.owner}
        </Link>{" "}
        {item.event === "created" ? "posted" : "changed"}{" "}
        <Link to="/cleanings/$cleaningId" params={{ cleaningId: cleaning.id }}>
          {cleaning.name}
        </Link>
      </p>
      <p className="meta">
        <TimeAgo iso={item.event_at} /> · now {pricePerHour(cleaning.price)}
      </p>
    </li>
  );
}
