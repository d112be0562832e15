// Builds the Hono app: security headers, per-request config and db, session, CSRF, views, routes,
// and the one place errors become pages or htmx fragments.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import { HTTPException } from "hono/http-exception";
import { jsxRenderer } from "hono/jsx-renderer";
import { secureHeaders } from "hono/secure-headers";
import { csrfProtection } from "./auth/csrf.ts";
import { sessionLoader } from "./auth/session.ts";
import type { AppContext } from "./context.ts";
import { createDb } from "./db/client.ts";
import type { Env } from "./env.ts";
import { loadConfig } from "./lib/config.ts";
import { directoryAlerts, loadAlertsState } from "./alerts/directoryAlerts.ts";
import { PATHS } from "./paths.ts";
import { isHtmx } from "./routes/respond.tsx";
import { AppError, ERROR_TITLES } from "./lib/errors.ts";
import { auditRoutes } from "./routes/audit.tsx";
import { authRoutes, signInRoutes } from "./routes/auth.tsx";
import { entraCallbackRoutes, entraRoutes } from "./routes/entra.tsx";
import { entraSyncRoutes } from "./routes/entraSync.tsx";
import { entraRoleChangesRoutes } from "./routes/entraRoleChanges.tsx";
import { entraImportRoutes } from "./routes/entraImport.tsx";
import { entraScopeRoutes } from "./routes/entraScope.tsx";
import { entraMappingRoutes } from "./routes/entraMapping.tsx";
import { declareRules, mountSubApps, rulesOf, subApp, type SubApp } from "./routes/mount.ts";
import { realtimeRoutes } from "./routes/realtime.ts";
import { scimRoutes } from "./routes/scim.ts";
import { scimSettingsRoutes } from "./routes/scimSettings.tsx";
import { homeRoutes } from "./routes/home.tsx";
import { organizationRoutes } from "./routes/organizations.ts";
import { settingsRoutes } from "./routes/settings.tsx";
import { setupCallbackRoutes, setupRoutes } from "./routes/setup.tsx";
import { userRoutes } from "./routes/users.tsx";
import { webhookRoutes } from "./routes/webhooks.tsx";
import { relayAfterCommit } from "./events/afterCommit.ts";
import { Layout } from "../views/layout.tsx";
import { Flash } from "../views/parts/forms.tsx";
import { ErrorPage } from "../views/pages/errorPage.tsx";

const MAX_BODY_BYTES = 64 * 1024;

/**
 * D1 read replication (Sessions API). Each request is one D1 session; its bookmark goes back to
 * the browser in a cookie, and the next request starts from it, so a browser always reads at least
 * what it last read or wrote (its new session right after sign-in, a role it just changed).
 *
 * Which requests may read from a replica (the `reads` rule of each sub-app, in SUB_APPS below):
 * - State-changing requests (POST): never. They start on the primary ("first-primary"), because
 *   what they read decides what they write (the last Owner, a role, a toggle).
 * - The Connect Entra ID and setup-link callbacks (`reads: "primary"`): never, for the same
 *   reason; they are rare.
 * - Every other GET: yes. Those pages only show data; a replica at most a moment behind shows what
 *   the page would have shown a moment earlier. The one decision a page read makes is the session
 *   check: a member deactivated on the primary may keep reading pages for the replica's lag, never
 *   change anything (every POST re-checks on the primary), and the deactivation's own write ends
 *   their sessions. Writes a GET does make (ending an expired session, the idle touch, a refreshed
 *   Graph token) go to the primary whatever the session.
 * - The sign-in callback (a GET) reads from a replica too, and is safe by construction: its write
 *   batch re-checks on the primary every fact it relied on (src/signin/signIn.ts).
 */
const BOOKMARK_COOKIE = "__Host-uniasset_d1";
const BOOKMARK = /^[0-9A-Za-z-]{1,128}$/;

function readsMayLag(c: Context<AppContext>): boolean {
  return (c.req.method === "GET" || c.req.method === "HEAD") && rulesOf(c).reads === "replica";
}

/**
 * Each sub-app at its base path (src/paths.ts), with the request rules it needs beyond the safe
 * ones (session loaded, CSRF checked, GETs may read from a replica: src/routes/mount.ts). Inside,
 * a sub-app spells only its own relative paths.
 */
export const SUB_APPS: readonly SubApp[] = [
  // Microsoft Graph's notifications: no session or CSRF token (they are checked by subscription id
  // and clientState instead), and a body limit of their own.
  subApp(PATHS.realtime, realtimeRoutes, { caller: "machine" }),
  // Identity providers' SCIM requests: a bearer token instead of a session, their own body limit
  // and rate limit, and every read on the primary (a provider creates a User, then looks it up).
  subApp(PATHS.scim, scimRoutes, { caller: "machine", reads: "primary" }),
  // Sign-in starts and callbacks need no viewer: no session read before their rate limit.
  subApp(PATHS.signInWith, signInRoutes, { session: "none" }),
  subApp(PATHS.entraCallback, entraCallbackRoutes, { reads: "primary" }),
  subApp(PATHS.setupCallback, setupCallbackRoutes, { reads: "primary" }),
  // Signing in, the home page and people: every shared rule at its default (session, CSRF, replica reads).
  subApp(PATHS.home, authRoutes),
  subApp(PATHS.home, homeRoutes),
  subApp(PATHS.organizations, organizationRoutes),
  subApp(PATHS.users, userRoutes),
  // Settings, and Microsoft Entra ID: the connection, its runs, Group → Role mapping, Import by hand.
  subApp(PATHS.settings, settingsRoutes),
  subApp(PATHS.entra, entraRoutes),
  subApp(PATHS.entraSync, entraSyncRoutes),
  subApp(PATHS.entraRoleChanges, entraRoleChangesRoutes),
  subApp(PATHS.entraMapping, entraMappingRoutes),
  subApp(PATHS.entraImport, entraImportRoutes),
  subApp(PATHS.entraScope, entraScopeRoutes),
  // The other integrations, the audit log, and the setup link's page for the Azure administrator.
  subApp(PATHS.webhooks, webhookRoutes),
  subApp(PATHS.scimSettings, scimSettingsRoutes),
  subApp(PATHS.audit, auditRoutes),
  subApp(PATHS.setup, setupRoutes),
];

/** Only for a request whose route is a browser's: `middleware`, else straight on. */
function forBrowsers(middleware: MiddlewareHandler<AppContext>): MiddlewareHandler<AppContext> {
  return (c, next) => (rulesOf(c).caller === "browser" ? middleware(c, next) : next());
}

export function buildApp(subApps: readonly SubApp[] = SUB_APPS) {
  const app = new Hono<AppContext>();

  // First, so every shared middleware below knows the matched route's rules.
  declareRules(app, subApps);
  app.use(async function provideConfigAndDb(c, next) {
    const env = c.env as Env;
    c.set("config", loadConfig(env));
    const presented = getCookie(c, BOOKMARK_COOKIE);
    const bookmark = presented && BOOKMARK.test(presented) ? presented : undefined;
    const session = env.DB.withSession(readsMayLag(c) ? (bookmark ?? "first-unconstrained") : "first-primary");
    c.set("db", createDb(session));
    c.set("primaryDb", () => createDb(env.DB.withSession("first-primary")));
    c.set("signInLimiter", env.SIGN_IN_LIMITER);
    c.set("scimLimiter", env.SCIM_LIMITER);
    c.set("syncWorkflow", env.SYNC_WORKFLOW);
    c.set("importWorkflow", env.IMPORT_WORKFLOW);
    c.set("webhookDeliveries", env.WEBHOOK_DELIVERIES);
    await next();
    // The browser's next request continues from here: it reads at least what this one read or wrote.
    const latest = session.getBookmark();
    if (latest && latest !== bookmark) {
      setCookie(c, BOOKMARK_COOKIE, latest, { path: "/", secure: true, httpOnly: true, sameSite: "Lax", maxAge: 60 * 60 });
    }
  });
  app.use((c, next) => secureHeaders(securityHeaderOptions(c))(c, next));
  app.use(async function noStore(c, next) {
    await next();
    // Pages carry CSRF tokens and personal data: never cache them.
    c.header("Cache-Control", "no-store");
  });
  // A machine caller sets its own body limit, in its own answer.
  app.use(
    forBrowsers(
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new AppError("invalid_input", "That request is too large.");
        },
      }),
    ),
  );
  app.use(sessionLoader({ skip: (c) => rulesOf(c).session === "none" }));
  app.use(forBrowsers(csrfProtection()));
  app.use(
    forBrowsers(async function relayWebhookEvents(c, next) {
      await next();
      // A state change may have raised events in its batch (src/db/outbox.ts): put them on the
      // deliveries queue once the response is on its way. Pages (GET) change nothing that raises events, except
      // sign-in callbacks, which ask the queue to relay (routes/auth.tsx) to keep their D1 round trips.
      if (c.req.method !== "POST" || c.res.status >= 400 || !c.get("webhookDeliveries")) return;
      let ctx: { waitUntil(promise: Promise<unknown>): void };
      try {
        ctx = c.executionCtx;
      } catch {
        return; // Called without an execution context (app.request in tests): nothing to wait on.
      }
      ctx.waitUntil(relayAfterCommit(c.get("webhookDeliveries"), { here: { db: c.get("primaryDb")(), now: Date.now() } }));
    }),
  );
  // Only whole pages come through here (htmx fragments are c.html), so the directory alerts banner
  // is read and shown once per page and never inside a fragment. Its read is skipped for anyone
  // who is not shown it (src/alerts/directoryAlerts.ts).
  // A machine caller gets no page, so not the page frame either.
  app.use(
    forBrowsers(
      jsxRenderer(
        async ({ children, title, nav, alertsState }, c: Context<AppContext>) => {
          const state = alertsState !== undefined ? alertsState : await loadAlertsState(c.get("db"), c.get("viewer"));
          return (
            <Layout title={title} nav={nav} alerts={state ? directoryAlerts(state) : null}>
              {children}
            </Layout>
          );
        },
        { docType: true },
      ),
    ),
  );

  mountSubApps(app, subApps);

  app.notFound(() => {
    throw new AppError("not_found", "There is nothing at this address.");
  });
  app.onError((error, c) => renderError(error, c));
  return app;
}

function securityHeaderOptions(c: Context<AppContext>): Parameters<typeof secureHeaders>[0] {
  const config = c.get("config");
  // Forms that start an OAuth round trip redirect to the providers; browsers apply form-action
  // to that redirect, so the providers' origins are allowed there and nowhere else.
  const providers = [config.MS_AUTHORITY_HOST, new URL(config.GOOGLE_AUTHORIZATION_ENDPOINT).origin];
  return {
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'", ...providers],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "same-origin",
    strictTransportSecurity: "max-age=63072000; includeSubDomains",
    crossOriginOpenerPolicy: "same-origin",
    permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
  };
}

function renderError(error: Error, c: Context<AppContext>) {
  const appError =
    error instanceof AppError
      ? error
      : error instanceof HTTPException && error.status < 500
        ? new AppError("invalid_input", "That request could not be read.")
        : null;
  if (!appError) {
    // Unknown failure: log the kind of error, never request data; the page says nothing internal.
    console.error("unhandled error", error.name, error.message.slice(0, 200));
  }
  const code = appError?.code;
  const status = appError?.status ?? 500;
  const title = code ? ERROR_TITLES[code] : "Something went wrong";
  const message = appError?.userMessage ?? "An unexpected error occurred. Please try again in a moment.";
  const htmx = isHtmx(c);

  if (code === "not_signed_in") {
    if (htmx) return c.body(null, 200, { "HX-Redirect": PATHS.signIn });
    return c.redirect(PATHS.signIn, 302);
  }
  if (htmx) {
    c.header("HX-Retarget", "#flash");
    c.header("HX-Reswap", "innerHTML");
    return c.html(<Flash kind="error" title={title} message={message} />, status);
  }
  c.status(status);
  const signedOut = !c.get("viewer");
  // No directory read on an error page: the error may be D1's own.
  return c.render(<ErrorPage title={title} message={message} signInLink={signedOut} />, { title, alertsState: null });
}
