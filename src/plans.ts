// Which plan gets which feature: the one table every check reads (routes, views, SQL), instead of
// comparing plan names in place. It imports nothing, like paths.ts, so every layer may read it.
export const PLANS = ["free", "team", "enterprise"] as const;
export type Plan = (typeof PLANS)[number];

export const PLAN_FEATURES = {
  /**
   * Connect Entra ID, the setup link, Auto-provision users, Group → Role mapping, Import; the home
   * page's Entra card and the alerts banner's directory problems.
   */
  directorySync: ["enterprise"],
  /** Auto-deprovision's nightly runs, Sync now, Preview, held runs (the Directory sync section). */
  deprovisioning: ["enterprise"],
  /** Microsoft Graph change notifications (leavers within seconds). */
  realtimeUpdates: ["enterprise"],
  /** Settings → Webhooks: signed event deliveries; the alerts banner's failing endpoints. */
  eventWebhooks: ["enterprise"],
  /** Settings → Integrations → SCIM provisioning and the `/scim/v2` endpoint an identity provider pushes to. */
  scim: ["enterprise"],
} as const satisfies Record<string, readonly Plan[]>;
export type PlanFeature = keyof typeof PLAN_FEATURES;

/** Whether `plan` includes `feature`. */
export function planHas(plan: Plan, feature: PlanFeature): boolean {
  return (PLAN_FEATURES[feature] as readonly Plan[]).includes(plan);
}

/** The plans that include `feature` (for SQL: `o.plan in (...)`). */
export function plansWith(feature: PlanFeature): readonly Plan[] {
  return PLAN_FEATURES[feature];
}
