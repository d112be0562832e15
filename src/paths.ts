// The app's URL map: every URL the app serves, links to or gives Microsoft and Google to send
// people back to. app.tsx mounts each sub-app at its base path here (so a sub-app spells only its
// own relative paths), with the request rules it needs, and views build their links from the same
// constants. It imports nothing, so routes and views can both depend on it without depending on
// each other.
const ENTRA = "/settings/integrations/entra";
const SETUP = "/setup/entra";

export const PATHS = {
  home: "/",
  signIn: "/sign-in",
  signOut: "/sign-out",
  /** Sign-in's round trip with a provider (signInStartPath, signInCallbackPath): no session is read. */
  signInWith: "/auth",
  users: "/users",
  audit: "/audit",
  organizations: "/organizations",
  settings: "/settings",
  integrations: "/settings/integrations",
  /** Settings → Webhooks: event webhook endpoints; one endpoint's page is `${webhooks}/<id>`. */
  webhooks: "/settings/webhooks",
  entra: ENTRA,
  /** Connect Entra ID's return from Microsoft (a redirect URI of the app registration). */
  entraCallback: `${ENTRA}/callback`,
  entraMapping: `${ENTRA}/mapping`,
  entraImport: `${ENTRA}/import`,
  /** The sync scope: who the directory brings in (issue 20). */
  entraScope: `${ENTRA}/scope`,
  entraSync: `${ENTRA}/sync`,
  /** Role changes of directory runs: Apply/Dismiss a held list, Undo (issue 19). */
  entraRoleChanges: `${ENTRA}/role-changes`,
  entraSetupLink: `${ENTRA}/setup-link`,
  /** The Azure administrator's side of the setup link: no session needed. The link is `${setup}/<secret>`. */
  setup: SETUP,
  /** The admin consent's return from Microsoft (a redirect URI of the app registration). */
  setupCallback: `${SETUP}/callback`,
  /** Settings → Integrations → SCIM provisioning: the bearer tokens and the last requests. */
  scimSettings: "/settings/integrations/scim",
  /** The SCIM 2.0 endpoint identity providers push to (bearer token, no session). */
  scim: "/scim/v2",
  /** Microsoft Graph's side of real-time updates: change and lifecycle notifications, no session. */
  realtime: "/realtime/microsoft-graph",
} as const;

/** Files the Worker's assets serve (wrangler.toml [assets], public/), which every page links to. */
export const ASSET_PATHS = { stylesheet: "/app.css", htmx: "/vendor/htmx.min.js" } as const;

/** Where sign-in with `provider` starts: the app redirects on to the provider. */
export const signInStartPath = (provider: "microsoft" | "google") => `${PATHS.signInWith}/${provider}`;

/** Where the provider sends the person back (the redirect URI registered with it). */
export const signInCallbackPath = (provider: "microsoft" | "google") => `${signInStartPath(provider)}/callback`;

/** One webhook endpoint's page (its actions and delivery log), under PATHS.webhooks. */
export const webhookEndpointPath = (id: string) => `${PATHS.webhooks}/${id}`;

/** The two notification URLs a subscription names, under PATHS.realtime. */
export const REALTIME_NOTIFICATION_PATHS = { changes: "/users", lifecycle: "/lifecycle" } as const;

/** Each Entra feature toggle's path segment: `${PATHS.entra}/features/<slug>`. */
export const ENTRA_FEATURE_SLUGS = {
  autoProvision: "auto-provision",
  autoDeprovision: "auto-deprovision",
  groupRoleMapping: "group-role-mapping",
} as const;
