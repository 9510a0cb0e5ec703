/* Small pieces shared by the list pages (my cleanings, my offers, feed, a user's evaluations). */
import type { ReactNode } from "react";
import type { Schemas } from "../api/client";
import { when } from "../format";
import "./lists.css";

// The filters' options, in the order of a cleaning's or an offer's life.
export const CLEANING_STATUSES: readonly Schemas["CleaningStatus"][] = [
  "open",
  "assigned",
  "completed",
  "cancelled",
];
export const OFFER_STATUSES: readonly Schemas["OfferStatus"][] = [
  "pending",
  "accepted",
  "rejected",
  "cancelled",
  "completed",
];

const STATUS_LABELS: Record<string, string> = {
  open: "Open",
  assigned: "Assigned",
  completed: "Completed",
  cancelled: "Cancelled",
  pending: "Pending",
  accepted: "Accepted",
  rejected: "Rejected",
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

/** A cleaning's or an offer's status; `kind` words it for screen readers ("Offer: Pending"). */
export function StatusBadge({ status, kind }: { status: string; kind?: string }) {
  return (
    <span className={`badge status-badge status-${status}`}>
      {kind ? <span className="visually-hidden">{kind}: </span> : null}
      {statusLabel(status)}
    </span>
  );
}

/** A row of filter links; the current one is marked with aria-current by its Link. */
export function FilterNav({ label, children }: { label: string; children: ReactNode }) {
  return (
    <nav aria-label={label} className="filter-nav">
      <ul>{children}</ul>
    </nav>
  );
}

const relative = new Intl.RelativeTimeFormat("en-US", { numeric: "auto" });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "5 minutes ago", "yesterday"; "just now" under a minute. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
  }
  return "just now";
}

/** A moment in machine-readable form, shown relative with the exact date as its title. */
export function TimeAgo({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={when(iso)}>
      {timeAgo(iso)}
    </time>
  );
}

/** Whole stars out of 5, read as "4 of 5"; the glyphs are decoration. */
export function StarRating({ rating }: { rating: number }) {
  const stars = Math.max(0, Math.min(5, Math.round(rating)));
  return (
    <span className="star-rating">
      <span className="stars" aria-hidden="true">
        {"★".repeat(stars)}
        {"☆".repeat(5 - stars)}
      </span>{" "}
      {rating} of 5
    </span>
  );
}
