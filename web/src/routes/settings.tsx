import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useId, useState } from "react";
import { api, ensureOk, type Schemas, unwrap } from "../api/client";
import { meQueryKey, useMe } from "../auth/useSession";
import { FormError, SubmitButton, TextArea, TextField } from "../components/forms";
import { LoadMore } from "../components/LoadMore";
import { Empty, LoadError, PageTitle, Pending } from "../components/status";
import { useInfiniteList } from "../components/useInfiniteList";
import { when } from "../format";
import { Announce, formErrors } from "./accountForms";
import "./account.css";

type User = Schemas["UserRead"];
type Session = Schemas["SessionRead"];

export const sessionsQueryKey = ["my-sessions"] as const;

/** A section of the page, named by its h2. */
function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="settings-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** An empty field clears the value (null): the API refuses an empty full name or URL. */
function optional(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed;
}

function ProfileForm({ user }: { user: User }) {
  const queryClient = useQueryClient();
  const [fullName, setFullName] = useState(user.profile.full_name ?? "");
  const [phone, setPhone] = useState(user.profile.phone_number ?? "");
  const [bio, setBio] = useState(user.profile.bio ?? "");
  const [imageUrl, setImageUrl] = useState(user.profile.image_url ?? "");
  const mutation = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/profiles/me", {
          body: {
            full_name: optional(fullName),
            phone_number: optional(phone),
            // A bio keeps its inner line breaks; only the ends are trimmed.
            bio: optional(bio),
            image_url: optional(imageUrl),
          },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(meQueryKey, updated);
    },
  });
  const errors = formErrors(mutation.error, {
    full_name: [],
    phone_number: [],
    bio: [],
    image_url: [],
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <form onSubmit={submit} noValidate>
      <TextField
        label="Full name"
        name="full_name"
        autoComplete="name"
        error={errors.field("full_name")}
        value={fullName}
        onChange={(event) => setFullName(event.target.value)}
      />
      <TextField
        label="Phone number"
        name="phone_number"
        type="tel"
        autoComplete="tel"
        hint="Digits, spaces, ( ) and -, optionally starting with +. Only you see it."
        error={errors.field("phone_number")}
        value={phone}
        onChange={(event) => setPhone(event.target.value)}
      />
      <TextArea
        label="Bio"
        name="bio"
        maxLength={2000}
        error={errors.field("bio")}
        value={bio}
        onChange={(event) => setBio(event.target.value)}
      />
      <TextField
        label="Image URL"
        name="image_url"
        type="url"
        autoComplete="url"
        hint="An http or https address of a picture of you."
        error={errors.field("image_url")}
        value={imageUrl}
        onChange={(event) => setImageUrl(event.target.value)}
      />
      <FormError error={errors.rest} fields={errors.names} />
      <SubmitButton pending={mutation.isPending}>Save profile</SubmitButton>
      <Announce>{mutation.isSuccess ? <p>Your profile is saved.</p> : null}</Announce>
    </form>
  );
}

/** One form of the Account section: named by its h3, so its fields' names are told apart. */
function SubForm({
  title,
  onSubmit,
  children,
}: {
  title: string;
  onSubmit: (event: FormEvent) => void;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <form className="subform" aria-labelledby={id} onSubmit={onSubmit} noValidate>
      <h3 id={id}>{title}</h3>
      {children}
    </form>
  );
}

function ChangeEmailForm({ user }: { user: User }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState(user.email);
  const [password, setPassword] = useState("");
  const mutation = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.PATCH("/api/v1/users/me", {
          body: { email: email.trim(), current_password: password },
        }),
      ),
    onSuccess: async (updated) => {
      setPassword("");
      queryClient.setQueryData(meQueryKey, updated);
      await queryClient.invalidateQueries({ queryKey: meQueryKey });
    },
  });
  const errors = formErrors(mutation.error, {
    email: ["email-taken"],
    current_password: ["wrong-password"],
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  const changed = mutation.data;
  return (
    <SubForm title="Change email" onSubmit={submit}>
      <p className="meta">
        Now: {user.email} ({user.email_verified ? "verified" : "not verified yet"})
      </p>
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
      <TextField
        label="Current password"
        name="current_password"
        type="password"
        autoComplete="current-password"
        required
        error={errors.field("current_password")}
        value={password}
        onChange={(event) => setPassword(event.target.value)}
      />
      <FormError error={errors.rest} fields={errors.names} />
      <SubmitButton pending={mutation.isPending}>Change email</SubmitButton>
      <Announce>
        {changed && !changed.email_verified ? (
          <p>
            Your email is now {changed.email}. It stays unverified until you follow the link we
            mailed to it.
          </p>
        ) : null}
        {changed?.email_verified ? <p>Your email is unchanged.</p> : null}
      </Announce>
    </SubForm>
  );
}

function ChangePasswordForm() {
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const mutation = useMutation({
    mutationFn: async () =>
      ensureOk(
        await api.POST("/api/v1/users/me/password", {
          body: { current_password: current, new_password: next },
        }),
      ),
    onSuccess: async () => {
      setCurrent("");
      setNext("");
      await queryClient.invalidateQueries({ queryKey: sessionsQueryKey });
    },
  });
  const errors = formErrors(mutation.error, {
    current_password: ["wrong-password"],
    new_password: [],
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <SubForm title="Change password" onSubmit={submit}>
      <TextField
        label="Current password"
        name="current_password"
        type="password"
        autoComplete="current-password"
        required
        error={errors.field("current_password")}
        value={current}
        onChange={(event) => setCurrent(event.target.value)}
      />
      <TextField
        label="New password"
        name="new_password"
        type="password"
        autoComplete="new-password"
        required
        hint="10-128 characters; spaces count. Every other session is logged out."
        error={errors.field("new_password")}
        value={next}
        onChange={(event) => setNext(event.target.value)}
      />
      <FormError error={errors.rest} fields={errors.names} />
      <SubmitButton pending={mutation.isPending}>Change password</SubmitButton>
      <Announce>
        {mutation.isSuccess ? (
          <p>Your password is changed; every other session was logged out.</p>
        ) : null}
      </Announce>
    </SubForm>
  );
}

/** "Firefox on Linux" from a User-Agent header; the header itself when nothing is recognised. */
export function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browsers: [RegExp, string][] = [
    [/Edg(e|A|iOS)?\//, "Edge"],
    [/OPR\/|Opera/, "Opera"],
    [/Firefox\/|FxiOS\//, "Firefox"],
    [/Chrome\/|CriOS\//, "Chrome"],
    [/Safari\//, "Safari"],
  ];
  const systems: [RegExp, string][] = [
    [/Android/, "Android"],
    [/iPhone|iPad|iPod/, "iOS"],
    [/Windows/, "Windows"],
    [/Mac OS X|Macintosh/, "macOS"],
    [/CrOS/, "ChromeOS"],
    [/Linux/, "Linux"],
  ];
  const browser = browsers.find(([pattern]) => pattern.test(agent))?.[1];
  const system = systems.find(([pattern]) => pattern.test(agent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? agent;
}

function SessionItem({ session }: { session: Session }) {
  const queryClient = useQueryClient();
  const agent = describeAgent(session.user_agent);
  const mutation = useMutation({
    mutationFn: async () =>
      ensureOk(
        await api.DELETE("/api/v1/users/me/sessions/{session_id}", {
          params: { path: { session_id: session.id } },
        }),
      ),
    // Settled, not only succeeded: a 404 means another device ended it already.
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsQueryKey }),
  });
  return (
    <li className="card session">
      <h3 className="session-agent">
        {agent}
        {session.current ? (
          <>
            {" "}
            <span className="badge">This device</span>
          </>
        ) : null}
      </h3>
      {session.user_agent && session.user_agent !== agent ? (
        <p className="meta session-raw">{session.user_agent}</p>
      ) : null}
      <dl className="session-facts">
        <dt>Address</dt>
        <dd>{session.client_address ?? "unknown"}</dd>
        <dt>Started</dt>
        <dd>{when(session.created_at)}</dd>
        <dt>Last used</dt>
        <dd>{when(session.last_used_at)}</dd>
      </dl>
      {session.current ? null : (
        <>
          <FormError error={mutation.error} />
          <button
            type="button"
            className="danger"
            // Unique per row (the visible text is the same on each), and starts with it.
            aria-label={`End session started ${when(session.created_at)} from ${agent}`}
            disabled={mutation.isPending}
            aria-busy={mutation.isPending || undefined}
            onClick={() => mutation.mutate()}
          >
            End session
            {mutation.isPending ? <span className="spinner" aria-hidden="true" /> : null}
          </button>
        </>
      )}
    </li>
  );
}

function Sessions() {
  const queryClient = useQueryClient();
  const list = useInfiniteList<Session>({
    queryKey: sessionsQueryKey,
    fetchPage: async (cursor, signal) =>
      unwrap(
        await api.GET("/api/v1/users/me/sessions", {
          params: { query: cursor ? { cursor } : {} },
          signal,
        }),
      ),
  });
  const endOthers = useMutation({
    mutationFn: async () => ensureOk(await api.DELETE("/api/v1/users/me/sessions")),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: sessionsQueryKey }),
  });

  if (list.isPending) return <Pending label="Loading your sessions…" />;
  if (list.error) return <LoadError error={list.error} retry={list.retry} />;
  return (
    <>
      <p>Every browser or app where you are logged in. End the ones you do not recognise.</p>
      {list.items.length === 0 ? (
        <Empty>No sessions.</Empty>
      ) : (
        <ul className="cards sessions" aria-label="Your sessions">
          {list.items.map((session) => (
            <SessionItem key={session.id} session={session} />
          ))}
        </ul>
      )}
      <LoadMore list={list} />
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={endOthers.isPending}
          aria-busy={endOthers.isPending || undefined}
          onClick={() => endOthers.mutate()}
        >
          Log out everywhere else
          {endOthers.isPending ? <span className="spinner" aria-hidden="true" /> : null}
        </button>
      </div>
      <FormError error={endOthers.error} />
      <Announce>{endOthers.isSuccess ? <p>Every other session was logged out.</p> : null}</Announce>
    </>
  );
}

export function SettingsPage() {
  const me = useMe();
  return (
    <section className="settings">
      <PageTitle>Settings</PageTitle>
      {me.data ? (
        <>
          <Section title="Profile">
            <ProfileForm user={me.data} />
          </Section>
          <Section title="Account">
            <ChangeEmailForm user={me.data} />
            <ChangePasswordForm />
          </Section>
        </>
      ) : me.error ? (
        <LoadError error={me.error} retry={() => void me.refetch()} />
      ) : (
        <Pending label="Loading your account…" />
      )}
      <Section title="Sessions">
        <Sessions />
      </Section>
    </section>
  );
}
