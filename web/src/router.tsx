import type { QueryClient } from "@tanstack/react-query";
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  type ParsedLocation,
  parseSearchWith,
  type RouterHistory,
  redirect,
  stringifySearchWith,
} from "@tanstack/react-router";
import { getSession } from "./auth/session";
import { Layout, NotFound } from "./components/Layout";
import { CleaningPage } from "./routes/cleaning";
import { EditCleaningPage, NewCleaningPage } from "./routes/cleaningForm";
import { FeedPage } from "./routes/feed";
import { ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage } from "./routes/links";
import { LoginPage } from "./routes/login";
import { MarketplacePage } from "./routes/marketplace";
import { MyCleaningsPage } from "./routes/myCleanings";
import { MyOffersPage } from "./routes/myOffers";
import { SettingsPage } from "./routes/settings";
import { SignupPage } from "./routes/signup";
import { UserPage } from "./routes/user";
import { optionalEnum, optionalString, safeNext } from "./search";

export type RouterContext = { queryClient: QueryClient };

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Layout,
  notFoundComponent: NotFound,
});

/** Pages that need a session send an anonymous visitor to log in, and back here afterwards. */
function requireSession({ location }: { location: ParsedLocation }): void {
  if (getSession().status !== "authenticated") {
    throw redirect({ to: "/login", search: { next: location.href } });
  }
}

function cleaningIdParams(params: { cleaningId: string }) {
  const cleaningId = Number(params.cleaningId);
  return { cleaningId: Number.isSafeInteger(cleaningId) && cleaningId > 0 ? cleaningId : 0 };
}

export const SORTS = ["newest", "price"] as const;
export const CLEANING_TYPE_VALUES = ["dust_up", "spot_clean", "full_clean"] as const;
export const OFFER_STATUSES = [
  "pending",
  "accepted",
  "rejected",
  "cancelled",
  "completed",
] as const;
export const CLEANING_STATUSES = ["open", "assigned", "completed", "cancelled"] as const;

export type MarketplaceSearch = {
  q?: string | undefined;
  type?: (typeof CLEANING_TYPE_VALUES)[number] | undefined;
  min?: string | undefined;
  max?: string | undefined;
  sort?: (typeof SORTS)[number] | undefined;
};

const marketplaceRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/",
  beforeLoad: requireSession,
  validateSearch: (search: Record<string, unknown>): MarketplaceSearch => ({
    q: optionalString(search.q),
    type: optionalEnum(search.type, CLEANING_TYPE_VALUES),
    min: optionalString(search.min),
    max: optionalString(search.max),
    sort: optionalEnum(search.sort, SORTS),
  }),
  component: MarketplacePage,
});

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/login",
  validateSearch: (search: Record<string, unknown>): { next?: string | undefined } => ({
    next: safeNext(search.next),
  }),
  component: LoginPage,
});

const signupRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/signup",
  component: SignupPage,
});

const forgotPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/forgot-password",
  component: ForgotPasswordPage,
});

type TokenSearch = { token?: string | undefined };
const tokenSearch = (search: Record<string, unknown>): TokenSearch => ({
  token: optionalString(search.token),
});

const resetPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/reset-password",
  validateSearch: tokenSearch,
  component: ResetPasswordPage,
});

const verifyEmailRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/verify-email",
  validateSearch: tokenSearch,
  component: VerifyEmailPage,
});

const newCleaningRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/cleanings/new",
  beforeLoad: requireSession,
  component: NewCleaningPage,
});

const cleaningRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/cleanings/$cleaningId",
  beforeLoad: requireSession,
  params: {
    parse: cleaningIdParams,
    stringify: ({ cleaningId }) => ({ cleaningId: `${cleaningId}` }),
  },
  component: CleaningPage,
});

const editCleaningRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/cleanings/$cleaningId/edit",
  beforeLoad: requireSession,
  params: {
    parse: cleaningIdParams,
    stringify: ({ cleaningId }) => ({ cleaningId: `${cleaningId}` }),
  },
  component: EditCleaningPage,
});

const myCleaningsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/my/cleanings",
  beforeLoad: requireSession,
  validateSearch: (search: Record<string, unknown>) => ({
    status: optionalEnum(search.status, CLEANING_STATUSES),
  }),
  component: MyCleaningsPage,
});

const myOffersRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/my/offers",
  beforeLoad: requireSession,
  validateSearch: (search: Record<string, unknown>) => ({
    status: optionalEnum(search.status, OFFER_STATUSES),
  }),
  component: MyOffersPage,
});

const userRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/users/$username",
  beforeLoad: requireSession,
  component: UserPage,
});

const settingsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/settings",
  beforeLoad: requireSession,
  component: SettingsPage,
});

const feedRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/feed",
  beforeLoad: requireSession,
  component: FeedPage,
});

const routeTree = rootRoute.addChildren([
  marketplaceRoute,
  loginRoute,
  signupRoute,
  forgotPasswordRoute,
  resetPasswordRoute,
  verifyEmailRoute,
  newCleaningRoute,
  cleaningRoute,
  editCleaningRoute,
  myCleaningsRoute,
  myOffersRoute,
  userRoute,
  settingsRoute,
  feedRoute,
]);

export function makeRouter(queryClient: QueryClient, history?: RouterHistory) {
  return createRouter({
    routeTree,
    context: { queryClient },
    ...(history ? { history } : {}),
    // Search parameters are plain text both ways (every route validates its own): `?min=20`,
    // not the default's JSON-quoted `?min=%2220%22`, so URLs read and share as typed.
    parseSearch: parseSearchWith((value) => value),
    stringifySearch: stringifySearchWith(String),
    defaultPreload: "intent",
    scrollRestoration: true,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof makeRouter>;
  }
}
