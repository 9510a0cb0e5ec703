import { getRouteApi, Link } from "@tanstack/react-router";
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api, type Schemas, unwrap } from "../api/client";
import { FormError, fieldError, SelectField, TextField } from "../components/forms";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, PageTitle, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { CLEANING_TYPES, cleaningTypeLabel, pricePerHour } from "../format";
import { type CleaningFilters, queryKeys } from "../queryKeys";
import "./marketplace.css";

const route = getRouteApi("/");

type Search = ReturnType<typeof route.useSearch>;
type Sort = NonNullable<Search["sort"]>;

/** The fields of the search form that are typed, applied together on submit (Enter). */
type Typed = { q: string; min: string; max: string };

const EXCERPT_LENGTH = 160;

function blankToUndefined(value: string): string | undefined {
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > EXCERPT_LENGTH ? `${flat.slice(0, EXCERPT_LENGTH).trimEnd()}…` : flat;
}

function toFilters(search: Search): CleaningFilters {
  return {
    q: search.q,
    cleaning_type: search.type,
    min_price: search.min,
    max_price: search.max,
    sort: search.sort,
  };
}

export function MarketplacePage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const filters = toFilters(search);
  const list = useInfiniteList({
    queryKey: queryKeys.cleanings(filters),
    fetchPage: async (cursor, signal) =>
      unwrap(
        await api.GET("/api/v1/cleanings", { params: { query: { ...filters, cursor } }, signal }),
      ),
  });

  // The URL is the state: every change of a filter navigates (replacing the history entry).
  function apply(next: Partial<Search>) {
    void navigate({ search: { ...search, ...next }, replace: true });
  }

  // A 422 about the filters is shown next to them, not instead of the page.
  const invalid = list.error instanceof ApiError && list.error.status === 422 ? list.error : null;

  return (
    <section>
      <PageTitle>Marketplace</PageTitle>
      <SearchForm search={search} apply={apply} error={invalid} />
      {invalid ? (
        <FormError error={invalid} fields={["q", "min_price", "max_price"]} />
      ) : list.isPending ? (
        <Pending label="Loading cleanings…" />
      ) : list.error ? (
        <LoadError error={list.error} retry={list.retry} />
      ) : list.items.length === 0 ? (
        <Empty>No open cleanings match your search.</Empty>
      ) : (
        <>
          <ul className="cards" aria-label="Cleanings">
            {list.items.map((cleaning) => (
              <CleaningCard key={cleaning.id} cleaning={cleaning} />
            ))}
          </ul>
          <LoadMore list={list} label="Load more" />
        </>
      )}
    </section>
  );
}

function SearchForm({
  search,
  apply,
  error,
}: {
  search: Search;
  apply: (next: Partial<Search>) => void;
  error: ApiError | null;
}) {
  const fromUrl: Typed = { q: search.q ?? "", min: search.min ?? "", max: search.max ?? "" };
  const [typed, setTyped] = useState<Typed>(fromUrl);
  // Back/forward (or a link) changes the URL: the boxes follow it.
  useEffect(() => {
    setTyped({ q: search.q ?? "", min: search.min ?? "", max: search.max ?? "" });
  }, [search.q, search.min, search.max]);

  // Each change applies the whole form, so text typed but not yet submitted is not lost.
  function applyWith(next: Partial<Search>) {
    apply({
      q: blankToUndefined(typed.q),
      min: blankToUndefined(typed.min),
      max: blankToUndefined(typed.max),
      ...next,
    });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    applyWith({});
  }

  // Without a text search the API's default order is newest first; with one, best match.
  const searching = search.q !== undefined;
  const sortValue = !searching && search.sort === "newest" ? "" : (search.sort ?? "");

  return (
    // biome-ignore lint/a11y/useSemanticElements: the form is the search landmark (no extra <search> wrapper)
    <form
      role="search"
      aria-label="Search and filter"
      className="cleaning-search"
      onSubmit={submit}
    >
      <div className="search-row">
        <TextField
          label="Search cleanings"
          type="search"
          name="q"
          value={typed.q}
          error={fieldError(error, "q")}
          onChange={(event) => setTyped({ ...typed, q: event.target.value })}
        />
        <button type="submit" className="primary">
          Search
        </button>
      </div>
      <div className="filter-row">
        <SelectField
          label="Type"
          name="type"
          value={search.type ?? ""}
          onChange={(event) =>
            applyWith({ type: CLEANING_TYPES.find((t) => t.value === event.target.value)?.value })
          }
        >
          <option value="">All types</option>
          {CLEANING_TYPES.map((type) => (
            <option key={type.value} value={type.value}>
              {type.label}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Minimum price"
          type="number"
          name="min"
          min="0.01"
          step="0.01"
          inputMode="decimal"
          value={typed.min}
          error={fieldError(error, "min_price")}
          onChange={(event) => setTyped({ ...typed, min: event.target.value })}
        />
        <TextField
          label="Maximum price"
          type="number"
          name="max"
          min="0.01"
          step="0.01"
          inputMode="decimal"
          value={typed.max}
          error={fieldError(error, "max_price")}
          onChange={(event) => setTyped({ ...typed, max: event.target.value })}
        />
        <SelectField
          label="Sort by"
          name="sort"
          value={sortValue}
          onChange={(event) => applyWith({ sort: toSort(event.target.value) })}
        >
          <option value="">{searching ? "Best match" : "Newest"}</option>
          {searching ? <option value="newest">Newest</option> : null}
          <option value="price">Price: low to high</option>
        </SelectField>
      </div>
    </form>
  );
}

function toSort(value: string): Sort | undefined {
  return value === "newest" || value === "price" ? value : undefined;
}

function CleaningCard({ cleaning }: { cleaning: Schemas["CleaningRead"] }) {
  return (
    <li className="card cleaning-card">
      <h2>
        <Link to="/cleanings/$cleaningId" params={{ cleaningId: cleaning.id }}>
          {cleaning.name}
        </Link>
      </h2>
      <p className="meta cleaning-meta">
        <span className="badge">{cleaningTypeLabel(cleaning.cleaning_type)}</span>
        <strong className="price">{pricePerHour(cleaning.price)}</strong>
        <span>
          by{" "}
          <Link to="/users/$username" params={{ username: cleaning.owner }}>
            {cleaning.owner}
          </Link>
        </span>
      </p>
      {cleaning.description ? <p className="excerpt">{excerpt(cleaning.description)}</p> : null}
    </li>
  );
}
