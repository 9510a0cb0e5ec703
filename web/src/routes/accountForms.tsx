import { type ReactNode, useEffect, useRef } from "react";
import { ApiError, errorMessage } from "../api/client";
import { fieldError } from "../components/forms";

const PROBLEM_PREFIX = "urn:phresh:problem:";

/** The kind of a problem ("email-taken" of urn:phresh:problem:email-taken), if it is one. */
export function problemSlug(error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const type = error.problem.type;
  return type.startsWith(PROBLEM_PREFIX) ? type.slice(PROBLEM_PREFIX.length) : undefined;
}

export type FormErrors = {
  /** The message to show next to `field`: the 422's own, or a problem of a kind tied to it. */
  field: (name: string) => string | undefined;
  /** What FormError shows: null when the problem is shown next to a field already. */
  rest: unknown;
  /** The fields shown, for FormError's `fields`. */
  names: string[];
};

/**
 * Place a failed request's messages next to the fields of a form. `fields` maps each field to
 * the problem kinds that concern it without naming it in `errors[]` (a 409 "email-taken" says
 * nothing of a field, but is about the email).
 */
export function formErrors(error: unknown, fields: Record<string, string[]>): FormErrors {
  const slug = problemSlug(error);
  const owner = slug ? Object.keys(fields).find((name) => fields[name]?.includes(slug)) : undefined;
  return {
    field: (name) => fieldError(error, name) ?? (owner === name ? errorMessage(error) : undefined),
    rest: owner ? null : error,
    names: Object.keys(fields),
  };
}

/**
 * A polite live region, always in the page so screen readers announce what appears in it
 * (a region added together with its text is not reliably read).
 */
export function Announce({ children }: { children: ReactNode }) {
  return (
    <div role="status" className="announce">
      {children}
    </div>
  );
}

/**
 * An outcome that replaces the form that led to it: it takes the focus, which was on the
 * form's button that is now gone, so keyboard and screen-reader users land on it. Shown as
 * the page opens (`afterForm` false), it is plain text and leaves the focus alone.
 */
export function Outcome({
  children,
  role,
  afterForm = true,
}: {
  children: ReactNode;
  role: "status" | "alert";
  afterForm?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (afterForm) ref.current?.focus();
  }, [afterForm]);
  return (
    <div
      ref={ref}
      tabIndex={afterForm ? -1 : undefined}
      role={afterForm ? role : undefined}
      className="outcome"
    >
      {children}
    </div>
  );
}
