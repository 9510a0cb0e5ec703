import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { ApiError, api, ensureOk, type Schemas, unwrap } from "../api/client";
import { useMe } from "../auth/useSession";
import { ConfirmAction } from "../components/ConfirmAction";
import { FormError } from "../components/forms";
import { LoadError, PageTitle, Pending } from "../components/status";
import { cleaningTypeLabel, pricePerHour, when } from "../format";
import { queryKeys } from "../queryKeys";
import { OwnerPanel } from "./cleaningOwner";
import { statusLabel } from "./cleaningStatus";
import "./cleaning.css";

const route = getRouteApi("/cleanings/$cleaningId");

type Cleaning = Schemas["CleaningRead"];
type Offer = Schemas["OfferRead"];

export function CleaningPage() {
  const { cleaningId } = route.useParams();
  const cleaning = useQuery({
    queryKey: queryKeys.cleaning(cleaningId),
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/v1/cleanings/{cleaning_id}", {
          params: { path: { cleaning_id: cleaningId } },
          signal,
        }),
      ),
    // The router turns a malformed id into 0: no cleaning has it.
    enabled: cleaningId > 0,
  });
  const me = useMe();

  if (cleaningId <= 0 || (cleaning.error instanceof ApiError && cleaning.error.status === 404)) {
    return (
      <section>
        <PageTitle>Cleaning not found</PageTitle>
        <p>This cleaning does not exist or was removed.</p>
        <p>
          <Link to="/">Back to the marketplace</Link>
        </p>
      </section>
    );
  }
  if (cleaning.error) {
    return (
      <section>
        <PageTitle>Cleaning</PageTitle>
        <LoadError error={cleaning.error} retry={() => void cleaning.refetch()} />
      </section>
    );
  }
  if (!cleaning.data) {
    return (
      <section>
        <PageTitle>Cleaning</PageTitle>
        <Pending label="Loading the cleaning…" />
      </section>
    );
  }

  const data = cleaning.data;
  return (
    <article className="cleaning-page">
      <CleaningDetails cleaning={data} />
      {me.error ? (
        <LoadError error={me.error} retry={() => void me.refetch()} />
      ) : !me.data ? (
        <Pending />
      ) : me.data.username === data.owner ? (
        <OwnerPanel cleaning={data} />
      ) : (
        <CleanerPanel cleaning={data} username={me.data.username} />
      )}
    </article>
  );
}

function CleaningDetails({ cleaning }: { cleaning: Cleaning }) {
  return (
    <header className="cleaning-header">
      <PageTitle>{cleaning.name}</PageTitle>
      <p className="cleaning-tags">
        <span className="badge">{cleaningTypeLabel(cleaning.cleaning_type)}</span>
        <span className={`badge status status-${cleaning.status}`}>
          {statusLabel(cleaning.status)}
        </span>
      </p>
      <dl className="cleaning-facts">
        <div>
          <dt>Price</dt>
          <dd>{pricePerHour(cleaning.price)}</dd>
        </div>
        <div>
          <dt>Posted by</dt>
          <dd>
            <Link to="/users/$username" params={{ username: cleaning.owner }}>
              {cleaning.owner}
            </Link>
          </dd>
        </div>
        <div>
          <dt>Posted</dt>
          <dd>
            <time dateTime={cleaning.created_at}>{when(cleaning.created_at)}</time>
          </dd>
        </div>
        {cleaning.updated_at !== cleaning.created_at ? (
          <div>
            <dt>Updated</dt>
            <dd>
              <time dateTime={cleaning.updated_at}>{when(cleaning.updated_at)}</time>
            </dd>
          </div>
        ) : null}
      </dl>
      {cleaning.description ? (
        <p className="cleaning-description">{cleaning.description}</p>
      ) : (
        <p className="empty">No description.</p>
      )}
    </header>
  );
}

/** After a cleaner's offer changes: their offer, their list, and the cleaning (status). */
async function refreshAfterOfferChange(queryClient: QueryClient, cleaningId: number) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.myOffer(cleaningId) }),
    queryClient.invalidateQueries({ queryKey: queryKeys.myOffersAll }),
    queryClient.invalidateQueries({ queryKey: queryKeys.cleaning(cleaningId) }),
    queryClient.invalidateQueries({ queryKey: queryKeys.cleaningsAll }),
  ]);
}

/** What someone other than the owner can do: offer, withdraw, cancel the job. */
function CleanerPanel({ cleaning, username }: { cleaning: Cleaning; username: string }) {
  const offer = useQuery({
    queryKey: queryKeys.myOffer(cleaning.id),
    queryFn: async ({ signal }): Promise<Offer | null> => {
      const result = await api.GET("/api/v1/cleanings/{cleaning_id}/offers/{username}", {
        params: { path: { cleaning_id: cleaning.id, username } },
        signal,
      });
      // No offer yet is an answer, not an error.
      if (result.response.status === 404) return null;
      return unwrap(result);
    },
  });

  return (
    <section className="panel" aria-labelledby="your-offer">
      <h2 id="your-offer">Your offer</h2>
      {offer.error ? (
        <LoadError error={offer.error} retry={() => void offer.refetch()} />
      ) : offer.data === undefined ? (
        <Pending label="Loading your offer…" />
      ) : offer.data === null ? (
        <NoOffer cleaning={cleaning} />
      ) : (
        <MyOffer cleaning={cleaning} offer={offer.data} />
      )}
    </section>
  );
}

function NoOffer({ cleaning }: { cleaning: Cleaning }) {
  const queryClient = useQueryClient();
  const make = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/cleanings/{cleaning_id}/offers", {
          params: { path: { cleaning_id: cleaning.id } },
        }),
      ),
    onSuccess: async (created) => {
      queryClient.setQueryData(queryKeys.myOffer(cleaning.id), created);
      await refreshAfterOfferChange(queryClient, cleaning.id);
    },
  });

  if (cleaning.status !== "open") {
    return <p>This cleaning is not taking offers.</p>;
  }
  return (
    <>
      <p>Offer to do this job at {pricePerHour(cleaning.price)}. The owner chooses one cleaner.</p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={make.isPending}
          aria-busy={make.isPending || undefined}
          onClick={() => make.mutate()}
        >
          Make an offer
          {make.isPending ? <span className="spinner" aria-hidden="true" /> : null}
        </button>
      </div>
      <FormError error={make.error} />
    </>
  );
}

function MyOffer({ cleaning, offer }: { cleaning: Cleaning; offer: Offer }) {
  switch (offer.status) {
    case "pending":
    case "rejected":
      return <WithdrawableOffer cleaning={cleaning} offer={offer} />;
    case "accepted":
      return <AcceptedOffer cleaning={cleaning} />;
    case "cancelled":
      return <p>You cancelled this job.</p>;
    case "completed":
      return <p>You completed this job.</p>;
  }
}

function WithdrawableOffer({ cleaning, offer }: { cleaning: Cleaning; offer: Offer }) {
  const queryClient = useQueryClient();
  const withdraw = useMutation({
    mutationFn: async () =>
      ensureOk(
        await api.DELETE("/api/v1/cleanings/{cleaning_id}/offers/mine", {
          params: { path: { cleaning_id: cleaning.id } },
        }),
      ),
    onSuccess: async () => {
      queryClient.setQueryData(queryKeys.myOffer(cleaning.id), null);
      await refreshAfterOfferChange(queryClient, cleaning.id);
    },
  });
  return (
    <>
      <p>
        Status:{" "}
        <span className={`badge status status-${offer.status}`}>{statusLabel(offer.status)}</span>{" "}
        (offered <time dateTime={offer.created_at}>{when(offer.created_at)}</time>)
      </p>
      {offer.status === "rejected" ? (
        <p className="meta">
          The owner chose another cleaner. If that cleaner cancels, your offer is pending again.
        </p>
      ) : null}
      <div className="actions">
        <button
          type="button"
          disabled={withdraw.isPending}
          aria-busy={withdraw.isPending || undefined}
          onClick={() => withdraw.mutate()}
        >
          Withdraw offer
          {withdraw.isPending ? <span className="spinner" aria-hidden="true" /> : null}
        </button>
      </div>
      <FormError error={withdraw.error} />
    </>
  );
}

function AcceptedOffer({ cleaning }: { cleaning: Cleaning }) {
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/cleanings/{cleaning_id}/offers/mine/cancel", {
          params: { path: { cleaning_id: cleaning.id } },
        }),
      ),
    onSuccess: async (cancelled) => {
      queryClient.setQueryData(queryKeys.myOffer(cleaning.id), cancelled);
      await refreshAfterOfferChange(queryClient, cleaning.id);
    },
  });
  return (
    <>
      <p className="success">Your offer was accepted. The job is yours.</p>
      <ConfirmAction
        label="Cancel job"
        question="Cancel this job? You cannot offer on this cleaning again."
        confirmLabel="Yes, cancel the job"
        onConfirm={() => cancel.mutate()}
        pending={cancel.isPending}
        error={cancel.error}
      />
    </>
  );
}
