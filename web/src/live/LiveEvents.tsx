/**
 * Live notifications while logged in: follows the caller's server-sent events (./stream.ts),
 * refreshes the queries each event changes, and shows a toast in a polite live region.
 */
import { type QueryClient, type QueryKey, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useEffect, useRef, useState } from "react";
import { useSession } from "../auth/useSession";
import { queryKeys } from "../queryKeys";
import { userQueryKeys } from "../routes/user";
import { followEvents, type LiveEvent } from "./stream";
import "./live.css";

// A toast goes after this long, unless the pointer or the focus is on the toasts.
export const TOAST_MS = 15_000;
// After the pointer or the focus leaves the toasts, each stays at least this long.
const TOAST_GRACE_MS = 5_000;
const MAX_TOASTS = 5;

type Toast = { event: LiveEvent; expiresAt: number };

/** The start of an event's sentence; the cleaning's name (a link) ends it. */
function wording(event: LiveEvent): string {
  const { by } = event;
  switch (event.kind) {
    case "offer_created":
      return `${by} offered to clean `;
    case "offer_withdrawn":
      return `${by} withdrew their offer on `;
    case "offer_accepted":
      return `${by} accepted your offer on `;
    case "offer_rejected":
      return `${by} rejected your offer on `;
    case "cleaning_removed":
      return `${by} removed the cleaning you offered on: `;
    case "job_cancelled":
      return `${by} cancelled the job on `;
    case "evaluation_created":
      return `${by} rated your work on `;
  }
}

export function eventSentence(event: LiveEvent): string {
  return `${wording(event)}${event.cleaningName}`;
}

/** The queries an event may have changed: the cleaning, its offers, the lists of mine. */
function invalidateFor(queryClient: QueryClient, event: LiveEvent): void {
  const id = event.cleaningId;
  const keys: QueryKey[] = [
    queryKeys.cleaning(id),
    queryKeys.offers(id),
    queryKeys.myOffer(id),
    queryKeys.myOffersAll,
    queryKeys.myCleaningsAll,
  ];
  // A new evaluation of my work changes my ratings, on my page.
  if (event.kind === "evaluation_created") keys.push(userQueryKeys.everyone);
  for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
}

export function LiveEvents() {
  const session = useSession();
  const queryClient = useQueryClient();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const loggedIn = session.status === "authenticated";

  useEffect(() => {
    if (!loggedIn) return;
    const controller = new AbortController();
    void followEvents({
      signal: controller.signal,
      onEvent: (event) => {
        invalidateFor(queryClient, event);
        const toast = { event, expiresAt: Date.now() + TOAST_MS };
        setToasts((current) => [...current, toast].slice(-MAX_TOASTS));
      },
    });
    return () => controller.abort();
  }, [loggedIn, queryClient]);

  return <ToastRegion toasts={toasts} setToasts={setToasts} />;
}

function ToastRegion({
  toasts,
  setToasts,
}: {
  toasts: Toast[];
  setToasts: (update: (current: Toast[]) => Toast[]) => void;
}) {
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const paused = hovered || focused;
  const buttons = useRef(new Map<number, HTMLButtonElement>());

  // The oldest toast goes on time; while paused none does.
  useEffect(() => {
    if (paused || toasts.length === 0) return;
    const next = Math.min(...toasts.map((toast) => toast.expiresAt));
    const timer = setTimeout(
      () => setToasts((current) => current.filter((toast) => toast.expiresAt > Date.now())),
      Math.max(0, next - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [paused, toasts, setToasts]);

  // After a pause, each toast stays a little longer: time to move back to it.
  function resume() {
    const until = Date.now() + TOAST_GRACE_MS;
    setToasts((current) =>
      current.map((toast) => ({ ...toast, expiresAt: Math.max(toast.expiresAt, until) })),
    );
  }

  // Dismissing with the keyboard moves the focus to the next toast's button (or the previous),
  // rather than losing it with the removed button.
  function dismissAt(index: number) {
    const id = toasts[index]?.event.id;
    if (id === undefined) return;
    const neighbour = toasts[index + 1] ?? toasts[index - 1];
    setToasts((current) => current.filter((toast) => toast.event.id !== id));
    if (neighbour) {
      buttons.current.get(neighbour.event.id)?.focus();
    } else {
      // The last one: the focus goes back to the page (Layout's <main id="main">).
      setFocused(false);
      document.getElementById("main")?.focus({ preventScroll: true });
    }
  }

  return (
    <div
      className="live-events"
      role="status"
      aria-live="polite"
      aria-atomic="false"
      data-testid="live-events"
      onPointerEnter={() => setHovered(true)}
      onPointerLeave={() => {
        setHovered(false);
        resume();
      }}
      onFocus={() => setFocused(true)}
      onBlur={(event) => {
        if (event.currentTarget.contains(event.relatedTarget)) return;
        setFocused(false);
        resume();
      }}
    >
      {toasts.length > 0 ? (
        <ul>
          {toasts.map((toast, index) => (
            <li key={toast.event.id} className="toast">
              <ToastText event={toast.event} />
              <button
                type="button"
                className="toast-dismiss"
                aria-label={`Dismiss: ${eventSentence(toast.event)}`}
                ref={(element) => {
                  if (element) buttons.current.set(toast.event.id, element);
                  else buttons.current.delete(toast.event.id);
                }}
                onClick={() => dismissAt(index)}
              >
                Dismiss
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function ToastText({ event }: { event: LiveEvent }) {
  // A removed cleaning has no page any more: its name is plain text.
  if (event.kind === "cleaning_removed") return <p>{eventSentence(event)}</p>;
  return (
    <p>
      {wording(event)}
      <Link to="/cleanings/$cleaningId" params={{ cleaningId: event.cleaningId }}>
        {event.cleaningName}
      </Link>
    </p>
  );
}
