/*
 * The TanStack Query keys of cleanings and offers, in one place so pages and the live-events
 * refresher invalidate the same queries. Each `...All` key is the prefix of every key of its
 * kind (invalidateQueries matches prefixes): invalidate `queryKeys.cleaningsAll` to refresh
 * every marketplace search, `queryKeys.offers(id)` to refresh a cleaning's offers.
 *
 *   ["cleaning", id]                 GET /cleanings/{id}
 *   ["offers", id]                   GET /cleanings/{id}/offers (owner; infinite list)
 *   ["offers", id, "assigned"]       the accepted/completed offer of a cleaning (owner)
 *   ["my-offer", id]                 GET /cleanings/{id}/offers/{me} (null when none)
 *   ["cleanings", filters]           GET /cleanings (marketplace; infinite list)
 *   ["my-offers", filters]           GET /users/me/offers (infinite list)
 *   ["my-cleanings", filters]        GET /users/me/cleanings (infinite list)
 */

/** The marketplace's filters as the API takes them (query parameters of GET /cleanings). */
export type CleaningFilters = {
  q?: string | undefined;
  cleaning_type?: "dust_up" | "spot_clean" | "full_clean" | undefined;
  min_price?: string | undefined;
  max_price?: string | undefined;
  sort?: "newest" | "price" | undefined;
};

export const queryKeys = {
  cleaning: (id: number) => ["cleaning", id] as const,
  offers: (id: number) => ["offers", id] as const,
  assignedOffer: (id: number) => ["offers", id, "assigned"] as const,
  myOffer: (id: number) => ["my-offer", id] as const,
  cleaningsAll: ["cleanings"] as const,
  cleanings: (filters: CleaningFilters) => ["cleanings", filters] as const,
  myOffersAll: ["my-offers"] as const,
  myOffers: (filters: { status?: string | undefined }) => ["my-offers", filters] as const,
  myCleaningsAll: ["my-cleanings"] as const,
  myCleanings: (filters: { status?: string | undefined }) => ["my-cleanings", filters] as const,
};
