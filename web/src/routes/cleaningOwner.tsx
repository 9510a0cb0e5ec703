/* The owner's part of a cleaning's page: edit/delete, the offers, the accepted cleaner, the rating. */
import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { api, ensureOk, type Schemas, unwrap } from "../api/client";
import { ConfirmAction } from "../components/ConfirmAction";
import {
  FormError,
  fieldError,
  SelectField,
  SubmitButton,
  TextArea,
  TextField,
} from "../components/forms";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { when } from "../format";
import { queryKeys } from "../queryKeys";
import { statusLabel } from "./cleaningStatus";

type Cleaning = Schemas["CleaningRead"];
type Offer = Schemas["OfferRead"];

/** After the owner changed the cleaning's state: the page, its offers and every list of it. */
async function refreshCleaning(queryClient: QueryClient, cleaningId: number) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: queryKeys.cleaning(cleaningId) }),
    queryClient.invalidateQueries({ queryKey: queryKeys.offers(cleaningId) }),
    queryClient.invalidateQueries({ queryKey: queryKeys.cleaningsAll }),
    queryClient.invalidateQueries({ queryKey: queryKeys.myCleaningsAll }),
  ]);
}

export function OwnerPanel({ cleaning }: { cleaning: Cleaning }) {
  // Set when an Accept here assigned the cleaning: focus moves to the assigned cleaner, since
  // the button that had it is gone.
  const [justAccepted, setJustAccepted] = useState(false);
  const hired = cleaning.status === "assigned" || cleaning.status === "completed";
  return (
    <>
      <OwnerActions cleaning={cleaning} />
      {hired ? <Assignment cleaning={cleaning} focusOnMount={justAccepted} /> : null}
      <OffersSection cleaning={cleaning} onAccepted={() => setJustAccepted(true)} />
    </>
  );
}

function OwnerActions({ cleaning }: { cleaning: Cleaning }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const remove = useMutation({
    mutationFn: async () =>
      ensureOk(
        await api.DELETE("/api/v1/cleanings/{cleaning_id}", {
          params: { path: { cleaning_id: cleaning.id } },
        }),
      ),
    onSuccess: async () => {
      // Leave first: this page would otherwise refetch the cleaning and show "not found".
      await navigate({ to: "/my/cleanings", search: { status: undefined } });
      queryClient.removeQueries({ queryKey: queryKeys.cleaning(cleaning.id) });
      queryClient.removeQueries({ queryKey: queryKeys.offers(cleaning.id) });
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: queryKeys.cleaningsAll }),
        queryClient.invalidateQueries({ queryKey: queryKeys.myCleaningsAll }),
      ]);
    },
  });
  // Name and description stay editable while a cleaner is assigned (price and type do not).
  const editable = cleaning.status === "open" || cleaning.status === "assigned";
  // The API refuses to delete an assigned cleaning; a completed one may be taken down.
  const deletable = cleaning.status === "open" || cleaning.status === "completed";
  if (!editable && !deletable) return null;
  return (
    <div className="owner-actions">
      {editable ? (
        <Link
          to="/cleanings/$cleaningId/edit"
          params={{ cleaningId: cleaning.id }}
          className="button"
        >
          Edit
        </Link>
      ) : null}
      {deletable ? (
        <ConfirmAction
          label="Delete cleaning"
          question={
            cleaning.status === "open"
              ? "Delete this cleaning? Cleaners waiting on it are told it is gone."
              : "Take this cleaning down? Its evaluation stays."
          }
          confirmLabel="Yes, delete it"
          onConfirm={() => remove.mutate()}
          pending={remove.isPending}
          error={remove.error}
        />
      ) : (
        <p className="meta">A cleaning cannot be deleted while a cleaner is assigned.</p>
      )}
    </div>
  );
}

/** The accepted (or completed) offer: walks the offers' pages until it finds it. */
function useHiredOffer(cleaningId: number) {
  return useQuery({
    queryKey: queryKeys.assignedOffer(cleaningId),
    queryFn: async ({ signal }): Promise<Offer | null> => {
      let cursor: string | undefined;
      do {
        const page = unwrap(
          await api.GET("/api/v1/cleanings/{cleaning_id}/offers", {
            params: { path: { cleaning_id: cleaningId }, query: { limit: 100, cursor } },
            signal,
          }),
        );
        const hired = page.items.find(
          (offer) => offer.status === "accepted" || offer.status === "completed",
        );
        if (hired) return hired;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return null;
    },
  });
}

function Assignment({ cleaning, focusOnMount }: { cleaning: Cleaning; focusOnMount: boolean }) {
  const hired = useHiredOffer(cleaning.id);
  const heading = useRef<HTMLHeadingElement>(null);
  const focusHeading = () => heading.current?.focus();
  useEffect(() => {
    if (focusOnMount) heading.current?.focus();
  }, [focusOnMount]);

  const cleaner = hired.data ? (
    <Link to="/users/$username" params={{ username: hired.data.cleaner }}>
      {hired.data.cleaner}
    </Link>
  ) : null;

  return (
    <>
      <section className="panel" aria-labelledby="hired-cleaner">
        <h2 id="hired-cleaner" ref={heading} tabIndex={-1}>
          {cleaning.status === "completed" ? "Completed" : "Your cleaner"}
        </h2>
        {hired.error ? (
          <LoadError error={hired.error} retry={() => void hired.refetch()} />
        ) : hired.isPending ? (
          <Pending label="Loading the cleaner…" />
        ) : !cleaner ? null : cleaning.status === "completed" ? (
          <p>This job was done by {cleaner}. See their page for your evaluation.</p>
        ) : (
          <p>You accepted the offer of {cleaner}.</p>
        )}
      </section>
      {cleaning.status === "assigned" ? (
        <EvaluationForm cleaningId={cleaning.id} onDone={focusHeading} />
      ) : null}
    </>
  );
}

function OffersSection({ cleaning, onAccepted }: { cleaning: Cleaning; onAccepted: () => void }) {
  const list = useInfiniteList({
    queryKey: queryKeys.offers(cleaning.id),
    fetchPage: async (cursor, signal) =>
      unwrap(
        await api.GET("/api/v1/cleanings/{cleaning_id}/offers", {
          params: { path: { cleaning_id: cleaning.id }, query: { cursor } },
          signal,
        }),
      ),
  });
  return (
    <section className="panel" aria-labelledby="offers">
      <h2 id="offers">Offers</h2>
      {list.isPending ? (
        <Pending label="Loading offers…" />
      ) : list.error ? (
        <LoadError error={list.error} retry={list.retry} />
      ) : list.items.length === 0 ? (
        <Empty>No offers yet.</Empty>
      ) : (
        <>
          <ul className="offers">
            {list.items.map((offer) => (
              <OfferItem
                key={offer.cleaner}
                offer={offer}
                cleaning={cleaning}
                onAccepted={onAccepted}
              />
            ))}
          </ul>
          <LoadMore list={list} label="Load more offers" />
        </>
      )}
    </section>
  );
}

function OfferItem({
  offer,
  cleaning,
  onAccepted,
}: {
  offer: Offer;
  cleaning: Cleaning;
  onAccepted: () => void;
}) {
  const queryClient = useQueryClient();
  const nameId = useId();
  const accept = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/cleanings/{cleaning_id}/offers/{username}/accept", {
          params: { path: { cleaning_id: cleaning.id, username: offer.cleaner } },
        }),
      ),
    onSuccess: async () => {
      onAccepted();
      await refreshCleaning(queryClient, cleaning.id);
    },
  });
  const acceptable = cleaning.status === "open" && offer.status === "pending";
  return (
    <li className="offer">
      <div className="offer-who">
        <Link id={nameId} to="/users/$username" params={{ username: offer.cleaner }}>
          {offer.cleaner}
        </Link>
        <span className={`badge status status-${offer.status}`}>{statusLabel(offer.status)}</span>
        <span className="meta">
          offered <time dateTime={offer.created_at}>{when(offer.created_at)}</time>
        </span>
      </div>
      {acceptable ? (
        <button
          type="button"
          className="primary"
          aria-describedby={nameId}
          disabled={accept.isPending}
          aria-busy={accept.isPending || undefined}
          onClick={() => accept.mutate()}
        >
          Accept
          {accept.isPending ? <span className="spinner" aria-hidden="true" /> : null}
        </button>
      ) : null}
      <FormError error={accept.error} />
    </li>
  );
}

type Ratings = {
  overall_rating: string;
  professionalism: string;
  completeness: string;
  efficiency: string;
};

const STARS = [0, 1, 2, 3, 4, 5];

function RatingSelect({
  label,
  name,
  value,
  required = false,
  error,
  onChange,
}: {
  label: string;
  name: keyof Ratings;
  value: string;
  required?: boolean;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  return (
    <SelectField
      label={label}
      name={name}
      value={value}
      required={required}
      error={error}
      onChange={(event) => onChange(event.target.value)}
    >
      <option value="">{required ? "Choose a rating" : "Not rated"}</option>
      {STARS.map((stars) => (
        <option key={stars} value={String(stars)}>
          {stars === 1 ? "1 star" : `${stars} stars`}
        </option>
      ))}
    </SelectField>
  );
}

function optionalRating(value: string): number | null {
  return value === "" ? null : Number(value);
}

function optionalText(value: string): string | null {
  return value.trim() === "" ? null : value.trim();
}

const EVALUATION_FIELDS = [
  "overall_rating",
  "professionalism",
  "completeness",
  "efficiency",
  "headline",
  "comment",
];

function EvaluationForm({ cleaningId, onDone }: { cleaningId: number; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [ratings, setRatings] = useState<Ratings>({
    overall_rating: "",
    professionalism: "",
    completeness: "",
    efficiency: "",
  });
  const [headline, setHeadline] = useState("");
  const [comment, setComment] = useState("");
  const [noShow, setNoShow] = useState(false);
  const [missingOverall, setMissingOverall] = useState(false);
  const evaluate = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/cleanings/{cleaning_id}/evaluation", {
          params: { path: { cleaning_id: cleaningId } },
          body: {
            overall_rating: Number(ratings.overall_rating),
            professionalism: optionalRating(ratings.professionalism),
            completeness: optionalRating(ratings.completeness),
            efficiency: optionalRating(ratings.efficiency),
            headline: optionalText(headline),
            comment: optionalText(comment),
            no_show: noShow,
          },
        }),
      ),
    onSuccess: async () => {
      await refreshCleaning(queryClient, cleaningId);
      onDone();
    },
  });

  function rate(name: keyof Ratings) {
    return (value: string) => {
      setRatings({ ...ratings, [name]: value });
      if (name === "overall_rating") setMissingOverall(false);
    };
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (ratings.overall_rating === "") {
      setMissingOverall(true);
      return;
    }
    evaluate.mutate();
  }

  const error = evaluate.error;
  return (
    <section className="panel" aria-labelledby="rate-cleaner">
      <h2 id="rate-cleaner">Rate the cleaner</h2>
      <p className="meta">Rating the cleaner marks this cleaning as completed.</p>
      <form onSubmit={submit} noValidate>
        <div className="ratings">
          <RatingSelect
            label="Overall rating"
            name="overall_rating"
            required
            value={ratings.overall_rating}
            error={
              missingOverall ? "Choose an overall rating." : fieldError(error, "overall_rating")
            }
            onChange={rate("overall_rating")}
          />
          <RatingSelect
            label="Professionalism"
            name="professionalism"
            value={ratings.professionalism}
            error={fieldError(error, "professionalism")}
            onChange={rate("professionalism")}
          />
          <RatingSelect
            label="Completeness"
            name="completeness"
            value={ratings.completeness}
            error={fieldError(error, "completeness")}
            onChange={rate("completeness")}
          />
          <RatingSelect
            label="Efficiency"
            name="efficiency"
            value={ratings.efficiency}
            error={fieldError(error, "efficiency")}
            onChange={rate("efficiency")}
          />
        </div>
        <TextField
          label="Headline"
          name="headline"
          maxLength={200}
          value={headline}
          error={fieldError(error, "headline")}
          onChange={(event) => setHeadline(event.target.value)}
        />
        <TextArea
          label="Comment"
          name="comment"
          maxLength={5000}
          value={comment}
          error={fieldError(error, "comment")}
          onChange={(event) => setComment(event.target.value)}
        />
        <div className="field checkbox-field">
          <label>
            <input
              type="checkbox"
              name="no_show"
              checked={noShow}
              onChange={(event) => setNoShow(event.target.checked)}
            />
            The cleaner did not show up
          </label>
        </div>
        <FormError error={error} fields={EVALUATION_FIELDS} />
        <SubmitButton pending={evaluate.isPending}>Submit evaluation</SubmitButton>
      </form>
    </section>
  );
}
