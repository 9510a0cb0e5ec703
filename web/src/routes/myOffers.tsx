import { getRouteApi, Link } from "@tanstack/react-router";
import { api, unwrap } from "../api/client";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, PageTitle, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { pricePerHour } from "../format";
import { queryKeys } from "../queryKeys";
import { FilterNav, OFFER_STATUSES, StatusBadge, statusLabel } from "./listParts";

const route = getRouteApi("/my/offers");

export function MyOffersPage() {
  const { status } = route.useSearch();
  const list = useInfiniteList({
    queryKey: queryKeys.myOffers({ status }),
    fetchPage: async (cursor, signal) =>
      unwrap(
        await api.GET("/api/v1/users/me/offers", {
          params: { query: { status, cursor } },
          signal,
        }),
      ),
  });

  return (
    <>
      <PageTitle>My offers</PageTitle>
      <FilterNav label="Status">
        {[undefined, ...OFFER_STATUSES].map((option) => (
          <li key={option ?? "all"}>
            <Link
              to="/my/offers"
              search={{ status: option }}
              activeOptions={{ exact: true, includeSearch: true }}
            >
              {option ? statusLabel(option) : "All"}
            </Link>
          </li>
        ))}
      </FilterNav>
      {list.isPending ? <Pending label="Loading your offers…" /> : null}
      {list.error ? <LoadError error={list.error} retry={list.retry} /> : null}
      {!list.isPending && !list.error && list.items.length === 0 ? (
        <Empty>
          {status
            ? `No ${statusLabel(status).toLowerCase()} offers.`
            : "You have not offered to clean yet."}{" "}
          <Link to="/" search={{}}>
            Find cleanings in the marketplace
          </Link>
        </Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul className="cards">
          {list.items.map((offer) => (
            <li key={offer.cleaning_id} className="card list-item">
              <h2>
                <Link to="/cleanings/$cleaningId" params={{ cleaningId: offer.cleaning.id }}>
                  {offer.cleaning.name}
                </Link>
              </h2>
              <StatusBadge status={offer.status} kind="Offer" />
              <p className="meta">
                {pricePerHour(offer.cleaning.price)} · posted by{" "}
                <Link to="/users/$username" params={{ username: offer.cleaning.owner }}>
                  {offer.cleaning.owner}
                </Link>{" "}
                · cleaning {statusLabel(offer.cleaning.status).toLowerCase()}
              </p>
            </li>
          ))}
        </ul>
      ) : null}
      <LoadMore list={list} label="Load more offers" />
    </>
  );
}
