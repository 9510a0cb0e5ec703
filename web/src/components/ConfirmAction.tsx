/*
 * A destructive action with a confirm step in the page (no window.confirm): the first button
 * reveals a question with "Yes, …" and "Keep it"; focus moves to the question's yes button,
 * and back to the first button when the person keeps it.
 */
import { useEffect, useId, useRef, useState } from "react";
import { FormError } from "./forms";

export function ConfirmAction({
  label,
  question,
  confirmLabel,
  onConfirm,
  pending,
  error,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => void;
  pending: boolean;
  error: unknown;
}) {
  const [asking, setAsking] = useState(false);
  const [returning, setReturning] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  const first = useRef<HTMLButtonElement>(null);
  const questionId = useId();

  useEffect(() => {
    if (asking) yes.current?.focus();
    else if (returning) first.current?.focus();
  }, [asking, returning]);

  return (
    <div className="confirm-action">
      {asking ? (
        // biome-ignore lint/a11y/useSemanticElements: a question and its two buttons, not form fields
        <div className="confirm" role="group" aria-labelledby={questionId}>
          <p id={questionId}>{question}</p>
          <div className="actions">
            <button
              ref={yes}
              type="button"
              className="danger"
              disabled={pending}
              aria-busy={pending || undefined}
              onClick={onConfirm}
            >
              {confirmLabel}
              {pending ? <span className="spinner" aria-hidden="true" /> : null}
            </button>
            <button
              type="button"
              disabled={pending}
              onClick={() => {
                setReturning(true);
                setAsking(false);
              }}
            >
              Keep it
            </button>
          </div>
        </div>
      ) : (
        <button
          ref={first}
          type="button"
          className="danger"
          onClick={() => {
            setReturning(false);
            setAsking(true);
          }}
        >
          {label}
        </button>
      )}
      <FormError error={error} />
    </div>
  );
}
