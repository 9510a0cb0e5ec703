import { type ReactNode, useEffect } from "react";
import { errorMessage } from "../api/client";

/** Every wait shows progress, announced to screen readers. */
export function Pending({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="pending" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function LoadError({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="load-error" role="alert">
      <p>{errorMessage(error)}</p>
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** The page's main heading; each page has exactly one. */
export function PageTitle({ children }: { children: ReactNode }) {
  // The tab's title names the page too (screen readers announce it after a navigation).
  const text = typeof children === "string" ? children : null;
  useEffect(() => {
    if (text) document.title = `${text} · Phresh`;
  }, [text]);
  return <h1 className="page-title">{children}</h1>;
}
