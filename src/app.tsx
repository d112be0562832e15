// Builds the Hono app: security headers, per-request config and db, session, CSRF, views, routes,
// and the one place errors become pages or htmx fragments.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { jsxRenderer } from "hono/jsx-renderer";
import { secureHeaders } from "hono/secure-headers";
import { csrfProtection } from "./auth/csrf.ts";
import { sessionLoader } from "./auth/session.ts";
import type { AppContext } from "./context.ts";
import { createDb } from "./db/client.ts";
import { loadConfig } from "./lib/config.ts";
import { PATHS } from "./paths.ts";
import { isHtmx } from "./routes/respond.tsx";
import { AppError, ERROR_TITLES } from "./lib/errors.ts";
import { auditRoutes } from "./routes/audit.tsx";
import { authRoutes } from "./routes/auth.tsx";
import { entraRoutes } from "./routes/entra.tsx";
import { entraSyncRoutes } from "./routes/entraSync.tsx";
import { entraImportRoutes } from "./routes/entraImport.tsx";
import { entraMappingRoutes } from "./routes/entraMapping.tsx";
import { homeRoutes } from "./routes/home.tsx";
import { organizationRoutes } from "./routes/organizations.ts";
import { settingsRoutes } from "./routes/settings.tsx";
import { setupRoutes } from "./routes/setup.tsx";
import { userRoutes } from "./routes/users.tsx";
import { Layout } from "../views/layout.tsx";
import { Flash } from "../views/parts/forms.tsx";
import { ErrorPage } from "../views/pages/errorPage.tsx";

const MAX_BODY_BYTES = 64 * 1024;

export function buildApp() {
  const app = new Hono<AppContext>();

  app.use(async function provideConfigAndDb(c, next) {
    c.set("config", loadConfig(c.env));
    c.set("db", createDb(c.env.DB));
    await next();
  });
  app.use((c, next) => secureHeaders(securityHeaderOptions(c))(c, next));
  app.use(async function noStore(c, next) {
    await next();
    // Pages carry CSRF tokens and personal data: never cache them.
    c.header("Cache-Control", "no-store");
  });
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new AppError("invalid_input", "That request is too large."); } }));
  app.use(sessionLoader());
  app.use(csrfProtection());
  app.use(jsxRenderer(({ children, title, nav }) => <Layout title={title} nav={nav}>{children}</Layout>, { docType: true }));

  // Each sub-app at its base path (src/paths.ts); inside, only its own relative paths.
  app.route("/", authRoutes);
  app.route(PATHS.home, homeRoutes);
  app.route(PATHS.organizations, organizationRoutes);
  app.route(PATHS.users, userRoutes);
  app.route(PATHS.settings, settingsRoutes);
  app.route(PATHS.entra, entraRoutes);
  app.route(PATHS.entraSync, entraSyncRoutes);
  app.route(PATHS.entraMapping, entraMappingRoutes);
  app.route(PATHS.entraImport, entraImportRoutes);
  app.route(PATHS.audit, auditRoutes);
  app.route(PATHS.setup, setupRoutes);

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
  return c.render(<ErrorPage title={title} message={message} signInLink={signedOut} />, { title });
}
