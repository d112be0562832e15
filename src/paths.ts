// The app's URL map. app.tsx mounts each sub-app at its base path here (so a sub-app spells only
// its own relative paths), and views build their links from the same constants. It imports
// nothing, so routes and views can both depend on it without depending on each other.
const ENTRA = "/settings/integrations/entra";

export const PATHS = {
  home: "/",
  signIn: "/sign-in",
  users: "/users",
  audit: "/audit",
  organizations: "/organizations",
  settings: "/settings",
  integrations: "/settings/integrations",
  /** Settings → Webhooks: event webhook endpoints; one endpoint's page is `${webhooks}/<id>`. */
  webhooks: "/settings/webhooks",
  entra: ENTRA,
  entraMapping: `${ENTRA}/mapping`,
  entraImport: `${ENTRA}/import`,
  entraSync: `${ENTRA}/sync`,
  entraSetupLink: `${ENTRA}/setup-link`,
  /** The Azure administrator's side of the setup link: no session needed. */
  setup: "/setup/entra",
  /** Microsoft Graph's side of real-time updates: change and lifecycle notifications, no session. */
  realtime: "/realtime/microsoft-graph",
} as const;

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
