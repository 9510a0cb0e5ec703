import { getRouteApi, Link } from "@tanstack/react-router";
import { api, unwrap } from "../api/client";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, PageTitle, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { cleaningTypeLabel, pricePerHour } from "../format";
import { queryKeys } from "../queryKeys";
import { CLEANING_STATUSES, FilterNav, StatusBadge, statusLabel } from "./listParts";

const route = getRouteApi("/my/cleanings");

export function MyCleaningsPage() {
  const { status } = route.useSearch();
  const list = useInfiniteList({
    queryKey: queryKeys.myCleanings({ status }),
    fetchPage: async (cursor, signal) =>
      unwrap(
        await api.GET("/api/v1/users/me/cleanings", {
          params: { query: { status, cursor } },
          signal,
        }),
      ),
  });

  return (
    <>
      <PageTitle>My cleanings</PageTitle>
      <FilterNav label="Status">
        {[undefined, ...CLEANING_STATUSES].map((option) => (
          <li key={option ?? "all"}>
            <Link
              to="/my/cleanings"
              search={{ status: option }}
              activeOptions={{ exact: true, includeSearch: true }}
            >
              {option ? statusLabel(option) : "All"}
            </Link>
          </li>
        ))}
      </FilterNav>
      {list.isPending ? <Pending label="Loading your cleanings…" /> : null}
      {list.error ? <LoadError error={list.error} retry={list.retry} /> : null}
      {!list.isPending && !list.error && list.items.length === 0 ? (
        <Empty>
          {status
            ? `No ${statusLabel(status).toLowerCase()} cleanings.`
            : "You have not posted a cleaning yet."}{" "}
          <Link to="/cleanings/new">Post a cleaning</Link>
        </Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul className="cards">
          {list.items.map((cleaning) => (
            <li key={cleaning.id} className="card list-item">
              <h2>
                <Link to="/cleanings/$cleaningId" params={{ cleaningId: cleaning.id }}>
                  {cleaning.name}
                </Link>
              </h2>
              <StatusBadge status={cleaning.status} kind="Status" />
              <p className="meta">
                {pricePerHour(cleaning.price)} · {cleaningTypeLabel(cleaning.cleaning_type)}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
      <LoadMore list={list} label="Load more cleanings" />
    </>
  );
}
