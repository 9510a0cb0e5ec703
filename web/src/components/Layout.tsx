import { useQueryClient } from "@tanstack/react-query";
import { Link, Outlet, useNavigate, useRouter, useRouterState } from "@tanstack/react-router";
import { useEffect, useRef, useState } from "react";
import { api, ensureOk, errorMessage } from "../api/client";
import { logOut } from "../auth/actions";
import { useMe, useSession } from "../auth/useSession";
import { LiveEvents } from "../live/LiveEvents";
import { PageTitle } from "./status";

const NAV = [
  { to: "/", label: "Marketplace" },
  { to: "/cleanings/new", label: "Post a cleaning" },
  { to: "/my/cleanings", label: "My cleanings" },
  { to: "/my/offers", label: "My offers" },
  { to: "/feed", label: "Feed" },
] as const;

function LogOutButton() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        className="link-button"
        disabled={pending}
        aria-busy={pending || undefined}
        onClick={async () => {
          setPending(true);
          setError(null);
          try {
            await logOut(queryClient);
            await navigate({ to: "/login", search: {} });
          } catch (failure) {
            // Still logged in, here and on the server: say so rather than pretend.
            setError(`Not logged out: ${errorMessage(failure)}`);
          } finally {
            setPending(false);
          }
        }}
      >
        Log out
      </button>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </>
  );
}

function VerifyBanner() {
  const me = useMe();
  const [state, setState] = useState<"idle" | "sending" | "sent" | Error>("idle");
  if (!me.data || me.data.email_verified) return null;
  return (
    <section className="banner" aria-label="Email verification">
      <p>
        Please verify your email: we sent a link to <strong>{me.data.email}</strong>.
      </p>
      {state === "sent" ? (
        <p role="status">A new link is on its way.</p>
      ) : (
        <button
          type="button"
          className="link-button"
          disabled={state === "sending"}
          onClick={async () => {
            setState("sending");
            try {
              ensureOk(await api.POST("/api/v1/auth/verify-email/resend"));
              setState("sent");
            } catch (error) {
              setState(new Error(errorMessage(error)));
            }
          }}
        >
          Send the link again
        </button>
      )}
      {state instanceof Error ? <p role="alert">{state.message}</p> : null}
    </section>
  );
}

/**
 * An expired session (refresh refused) sends you to log in, and back here afterwards: once,
 * when it expires. The pages anyone may open (sign up, the mailed links) stay open after it.
 */
function useExpiredSessionRedirect() {
  const session = useSession();
  const navigate = useNavigate();
  const router = useRouter();
  useEffect(() => {
    if (session.status !== "anonymous" || session.reason !== "expired") return;
    const { pathname, href } = router.state.location;
    if (pathname === "/login") return;
    void navigate({ to: "/login", search: { next: href } });
  }, [session, navigate, router]);
}

/**
 * After a navigation inside the app, focus goes to the new page's content, as a page load
 * would put it at the top: keyboard and screen reader users start there, not at <body>.
 */
function useFocusOnNavigation() {
  const pathname = useRouterState({ select: (state) => state.location.pathname });
  const shown = useRef(pathname);
  useEffect(() => {
    if (shown.current === pathname) return;
    shown.current = pathname;
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [pathname]);
}

export function Layout() {
  const session = useSession();
  const me = useMe();
  useExpiredSessionRedirect();
  useFocusOnNavigation();
  const loggedIn = session.status === "authenticated";
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Phresh
        </Link>
        {loggedIn ? (
          <>
            <nav aria-label="Main" className="main-nav">
              <ul>
                {NAV.map((item) => (
                  <li key={item.to}>
                    <Link
                      to={item.to}
                      activeOptions={{ exact: true, includeSearch: false }}
                      activeProps={{ "aria-current": "page" }}
                    >
                      {item.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="account-nav">
              {me.data ? (
                <Link to="/users/$username" params={{ username: me.data.username }}>
                  {me.data.username}
                </Link>
              ) : null}
              <Link to="/settings">Settings</Link>
              <LogOutButton />
            </div>
          </>
        ) : (
          <nav aria-label="Account" className="account-nav">
            <Link to="/login" search={{}}>
              Log in
            </Link>
            <Link to="/signup">Sign up</Link>
          </nav>
        )}
      </header>
      {loggedIn ? <VerifyBanner /> : null}
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      {loggedIn ? <LiveEvents /> : null}
    </>
  );
}

export function NotFound() {
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is nothing here. <Link to="/">Back to the marketplace</Link>
      </p>
    </>
  );
}
