/*
 * The pages the mailed links open. Opening a link changes nothing (mail scanners open links):
 * only the page's button spends its token.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { type FormEvent, type ReactNode, useState } from "react";
import { ApiError, api, ensureOk } from "../api/client";
import { getSession, signOut } from "../auth/session";
import { meQueryKey, useMe, useSession } from "../auth/useSession";
import { FormError, fieldError, SubmitButton, TextField } from "../components/forms";
import { PageTitle } from "../components/status";
import { Announce, formErrors, Outcome, problemSlug } from "./accountForms";
import "./account.css";

const resetRoute = getRouteApi("/reset-password");
const verifyRoute = getRouteApi("/verify-email");

/** A link's token was refused: unknown, expired, used, or not even shaped like a token. */
function isInvalidLink(error: unknown): boolean {
  return (
    error instanceof ApiError && (error.status === 400 || fieldError(error, "token") !== undefined)
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const mutation = useMutation({
    mutationFn: async () =>
      ensureOk(await api.POST("/api/v1/auth/forgot-password", { body: { email: email.trim() } })),
  });
  const errors = formErrors(mutation.error, { email: [] });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <section className="narrow">
      <PageTitle>Forgot your password?</PageTitle>
      <p>Enter the email of your account; we will mail you a link to set a new password.</p>
      <form onSubmit={submit} noValidate>
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          error={errors.field("email")}
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <FormError error={errors.rest} fields={errors.names} />
        <SubmitButton pending={mutation.isPending}>Send reset link</SubmitButton>
      </form>
      {/* The API answers 202 whether or not an account uses the address: so does this page. */}
      <Announce>
        {mutation.isSuccess ? (
          <p>If an account uses that address, a reset link is on its way.</p>
        ) : null}
      </Announce>
      <p>
        <Link to="/login" search={{}}>
          Back to logging in
        </Link>
      </p>
    </section>
  );
}

function AskForNewResetLink({ afterForm, children }: { afterForm: boolean; children: string }) {
  return (
    <Outcome role="alert" afterForm={afterForm}>
      <p>{children}</p>
      <p>
        <Link to="/forgot-password">Ask for a new reset link</Link>
      </p>
    </Outcome>
  );
}

export function ResetPasswordPage() {
  const { token } = resetRoute.useSearch();
  const queryClient = useQueryClient();
  const [password, setPassword] = useState("");
  const mutation = useMutation({
    mutationFn: async (linkToken: string) =>
      ensureOk(
        await api.POST("/api/v1/auth/reset-password", {
          body: { token: linkToken, new_password: password },
        }),
      ),
    onSuccess: () => {
      // The API ended every session of the account, this browser's too if it had one.
      if (getSession().status === "authenticated") {
        signOut("logged-out");
        queryClient.clear();
      }
    },
  });
  const errors = formErrors(mutation.error, { new_password: [] });

  let body: ReactNode;
  if (!token) {
    body = (
      <AskForNewResetLink afterForm={false}>
        This page needs the link from the email we sent you; this address has no token.
      </AskForNewResetLink>
    );
  } else if (mutation.isSuccess) {
    body = (
      <Outcome role="status">
        <p>Your password is changed; every session was logged out.</p>
        <p>
          <Link to="/login" search={{}}>
            Log in
          </Link>
        </p>
      </Outcome>
    );
  } else if (isInvalidLink(mutation.error)) {
    body = (
      <AskForNewResetLink afterForm>
        This link is invalid, expired or used already. Links work once, for a limited time.
      </AskForNewResetLink>
    );
  } else {
    const submit = (event: FormEvent) => {
      event.preventDefault();
      mutation.mutate(token);
    };
    body = (
      <form onSubmit={submit} noValidate>
        <TextField
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          required
          hint="10-128 characters; spaces count."
          error={errors.field("new_password")}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <FormError error={errors.rest} fields={errors.names} />
        <SubmitButton pending={mutation.isPending}>Set new password</SubmitButton>
      </form>
    );
  }

  return (
    <section className="narrow">
      <PageTitle>Set a new password</PageTitle>
      {body}
    </section>
  );
}

/** For a logged-in visitor whose link did not work: mail a fresh one to the account's address. */
function SendNewVerifyLink() {
  const me = useMe();
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: async () => ensureOk(await api.POST("/api/v1/auth/verify-email/resend")),
    onError: (error) => {
      if (problemSlug(error) === "email-already-verified") {
        void queryClient.invalidateQueries({ queryKey: meQueryKey });
      }
    },
  });
  const verified = problemSlug(mutation.error) === "email-already-verified";
  return (
    <>
      <div className="actions">
        {mutation.isSuccess || verified ? null : (
          <button
            type="button"
            className="primary"
            disabled={mutation.isPending}
            aria-busy={mutation.isPending || undefined}
            onClick={() => mutation.mutate()}
          >
            Send a new link
            {mutation.isPending ? <span className="spinner" aria-hidden="true" /> : null}
          </button>
        )}
      </div>
      <Announce>
        {mutation.isSuccess ? (
          <p>
            A new link is on its way
            {me.data ? (
              <>
                {" "}
                to <strong>{me.data.email}</strong>
              </>
            ) : null}
            .
          </p>
        ) : null}
        {verified ? <p>Your email is verified already: there is nothing left to do.</p> : null}
      </Announce>
      <FormError error={verified ? null : mutation.error} />
    </>
  );
}

function InvalidVerifyLink({
  loggedIn,
  afterForm,
  children,
}: {
  loggedIn: boolean;
  afterForm: boolean;
  children: string;
}) {
  return (
    <>
      <Outcome role="alert" afterForm={afterForm}>
        <p>{children}</p>
      </Outcome>
      {loggedIn ? (
        <SendNewVerifyLink />
      ) : (
        <p>
          <Link to="/login" search={{}}>
            Log in to get a new link
          </Link>
        </p>
      )}
    </>
  );
}

export function VerifyEmailPage() {
  const { token } = verifyRoute.useSearch();
  const loggedIn = useSession().status === "authenticated";
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: async (linkToken: string) =>
      ensureOk(await api.POST("/api/v1/auth/verify-email", { body: { token: linkToken } })),
    onSuccess: async () => {
      // The layout's banner asks to verify until `me` says so.
      if (getSession().status === "authenticated") {
        await queryClient.invalidateQueries({ queryKey: meQueryKey });
      }
    },
  });

  let body: ReactNode;
  if (!token) {
    body = (
      <InvalidVerifyLink loggedIn={loggedIn} afterForm={false}>
        This page needs the link from the email we sent you; this address has no token.
      </InvalidVerifyLink>
    );
  } else if (mutation.isSuccess) {
    body = (
      <Outcome role="status">
        <p>Your email is verified.</p>
        <p>
          <Link to="/">Go to the marketplace</Link>
        </p>
      </Outcome>
    );
  } else if (isInvalidLink(mutation.error)) {
    body = (
      <InvalidVerifyLink loggedIn={loggedIn} afterForm>
        This link is invalid or used already. Links work once, for 24 hours.
      </InvalidVerifyLink>
    );
  } else {
    body = (
      <>
        <p>Confirm that this email address is yours.</p>
        <FormError error={mutation.error} />
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={mutation.isPending}
            aria-busy={mutation.isPending || undefined}
            onClick={() => mutation.mutate(token)}
          >
            Verify my email
            {mutation.isPending ? <span className="spinner" aria-hidden="true" /> : null}
          </button>
        </div>
      </>
    );
  }

  return (
    <section className="narrow">
      <PageTitle>Verify your email</PageTitle>
      {body}
    </section>
  );
}
