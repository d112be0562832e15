// Drizzle's view of migrations/*.sql. The SQL files are the source of truth, written by hand: they
// hold triggers, partial indexes, CHECKs and table rebuilds that drizzle-kit cannot generate. So this
// file is written by hand too, and test/schema.test.ts holds it to the migrated database, table by
// table (columns, types, NOT NULL, primary keys, defaults, CHECKed values, UNIQUE) and index by
// index: a migration comes with its change here. docs/storage.md says what each table holds and
// which columns are encrypted.
import { and, eq, isNotNull, isNull, ne, notInArray, sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { SUBSCRIBABLE_EVENT_TYPES, type SubscribableEventType } from "../eventCatalogue.ts";
import { PLANS, type PlanFeature } from "../plans.ts";

export const ROLES = ["owner", "admin", "manager", "member", "viewer"] as const;
export type Role = (typeof ROLES)[number];
/** Roles that group mapping and imports may give: never owner. */
export const MAPPABLE_ROLES = ["admin", "manager", "member", "viewer"] as const;
export type MappableRole = (typeof MAPPABLE_ROLES)[number];
/**
 * Why a member is deactivated: by an Owner's or Admin's hand, by directory sync (migrations/0017),
 * deprovisioned by the identity provider over SCIM ('scim'), or by directory sync because they left
 * the sync scope ('left_scope', migrations/0023).
 */
export const DEACTIVATION_REASONS = ["by_hand", "directory_sync", "scim", "left_scope"] as const;
export type DeactivationReason = (typeof DEACTIVATION_REASONS)[number];
/** A membership's standing as one value: active, or why it was deactivated (member_profiles.standing). */
export const MEMBER_STANDINGS = ["active", ...DEACTIVATION_REASONS] as const;
export type MemberStanding = (typeof MEMBER_STANDINGS)[number];
/**
 * The Users page's status filter, as it reads in a URL: active, deactivated (for any reason), or
 * deactivated for one reason, named as memberships.deactivated_reason names it.
 */
export const MEMBER_STATUS_FILTERS = [
  "active",
  "deactivated",
  "deactivated_by_hand",
  "deactivated_by_directory_sync",
  "deactivated_by_scim",
] as const;
export type { Plan } from "../plans.ts";
export type MemberStatusFilter = (typeof MEMBER_STATUS_FILTERS)[number];

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan", { enum: PLANS }).notNull(),
  createdAt: integer("created_at").notNull(),
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email"),
    displayName: text("display_name").notNull(),
    createdAt: integer("created_at").notNull(),
    lastSignInAt: integer("last_sign_in_at"),
    /** The directory profile's department and job title, copied from member_profiles for the Users page (migrations/0028), and whose. */
    department: text("department"),
    jobTitle: text("job_title"),
    profileOrganizationId: text("profile_organization_id"),
  },
  (t) => [index("users_email").on(t.email)],
);

/** A person as every list names them: the columns a select spreads where it shows who. */
export const personColumns = { userId: users.id, displayName: users.displayName, email: users.email };

export const identities = sqliteTable(
  "identities",
  {
    provider: text("provider", { enum: ["microsoft", "google"] }).notNull(),
    issuerKey: text("issuer_key").notNull(),
    subject: text("subject").notNull(),
    userId: text("user_id").notNull(),
    email: text("email"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.provider, t.issuerKey, t.subject] }),
    index("identities_user_tenant").on(t.userId, t.provider, t.issuerKey, t.subject, t.createdAt),
  ],
);

export const memberships = sqliteTable(
  "memberships",
  {
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    status: text("status", { enum: ["active", "deactivated"] }).notNull(),
    deactivatedReason: text("deactivated_reason", { enum: DEACTIVATION_REASONS }),
    deactivatedAt: integer("deactivated_at"),
    deactivatedByRun: text("deactivated_by_run"),
    createdAt: integer("created_at").notNull(),
    /** lower(users.display_name) and lower(users.email), kept by triggers (migrations/0008): the Users page's sort and search keys. */
    nameKey: text("name_key"),
    emailKey: text("email_key"),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.userId] }),
    index("memberships_user").on(t.userId),
    index("memberships_run").on(t.deactivatedByRun).where(isNotNull(t.deactivatedByRun)),
    // The Users page's lists (migrations/0008). Directory sync's scan of an organization reads the
    // table itself: WITHOUT ROWID since migrations/0027, its key (organization, user) is the table.
    index("memberships_by_name").on(t.organizationId, t.nameKey, t.userId, t.role, t.status, t.deactivatedReason),
    index("memberships_by_email").on(t.organizationId, t.emailKey, t.userId, t.nameKey, t.role, t.status, t.deactivatedReason),
    index("memberships_by_status").on(t.organizationId, t.status, t.nameKey, t.userId, t.role, t.deactivatedReason),
    // The status before the name (migrations/0031): a role with Active or Deactivated is one range.
    index("memberships_by_role").on(t.organizationId, t.role, t.status, t.nameKey, t.userId, t.deactivatedReason),
    index("memberships_by_reason")
      .on(t.organizationId, t.deactivatedReason, t.nameKey, t.userId, t.role, t.status)
      .where(isNotNull(t.deactivatedReason)),
    // A role with a deactivated status (migrations/0028).
    index("memberships_by_role_reason")
      .on(t.organizationId, t.role, t.deactivatedReason, t.nameKey, t.userId, t.status)
      .where(isNotNull(t.deactivatedReason)),
  ],
);

export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    email: text("email").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    invitedBy: text("invited_by"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    // At most one open invitation per address and organization.
    uniqueIndex("invitations_open")
      .on(t.organizationId, t.email)
      .where(and(isNull(t.acceptedAt), isNull(t.revokedAt))!),
    index("invitations_email").on(t.email),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id").notNull(),
    organizationId: text("organization_id").notNull(),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

const AUTH_FLOW_PURPOSES = ["sign_in_microsoft", "sign_in_google", "connect_entra", "setup_consent"] as const;
export type AuthFlowPurpose = (typeof AUTH_FLOW_PURPOSES)[number];

/** The SHA-256 of every OAuth `state` a callback has used, until the round trip could have expired. */
export const usedFlowStates = sqliteTable("used_flow_states", {
  stateHash: text("state_hash").primaryKey(),
  expiresAt: integer("expires_at").notNull(),
});

const CONNECTION_STATUSES = ["connected", "failed", "needs_reconnect"] as const;

/**
 * Directory sync holds a run that would deactivate more than `percent` % of the linked members and
 * more than `minimum` of them, unless the organization set its own (migrations/0001 has the same).
 */
export const DEFAULT_HOLD_THRESHOLD = { percent: 10, minimum: 5 } as const;

export const entraConnections = sqliteTable("entra_connections", {
  organizationId: text("organization_id").primaryKey(),
  status: text("status", { enum: CONNECTION_STATUSES }).notNull(),
  /** A tenant is connected to one organization only. */
  tenantId: text("tenant_id").unique(),
  tenantName: text("tenant_name"),
  verifiedDomains: text("verified_domains", { mode: "json" }).$type<string[]>(),
  defaultDomain: text("default_domain"),
  connectedBy: text("connected_by"),
  connectedAt: integer("connected_at"),
  connectedByRoles: text("connected_by_roles", { mode: "json" }).$type<string[]>(),
  failureReason: text("failure_reason"),
  refreshTokenEnc: text("refresh_token_enc"),
  accessTokenEnc: text("access_token_enc"),
  accessTokenExpiresAt: integer("access_token_expires_at"),
  deltaLinkEnc: text("delta_link_enc"),
  autoProvision: integer("auto_provision", { mode: "boolean" }).notNull().default(false),
  autoDeprovision: integer("auto_deprovision", { mode: "boolean" }).notNull().default(false),
  groupRoleMapping: integer("group_role_mapping", { mode: "boolean" }).notNull().default(false),
  defaultRole: text("default_role", { enum: MAPPABLE_ROLES }).notNull().default("member"),
  holdThresholdPercent: integer("hold_threshold_percent").notNull().default(DEFAULT_HOLD_THRESHOLD.percent),
  holdThresholdMinimum: integer("hold_threshold_minimum").notNull().default(DEFAULT_HOLD_THRESHOLD.minimum),
  /** Active members linked to the tenant, kept by triggers (migrations/0009); never written by the app. */
  linkedActiveMembers: integer("linked_active_members").notNull().default(0),
  updatedAt: integer("updated_at").notNull(),
});

/** Azure-admin setup links (migrations/0005): only the secret's hash is stored. */
export const entraSetupLinks = sqliteTable(
  "entra_setup_links",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    usedAt: integer("used_at"),
    consentedTenantId: text("consented_tenant_id"),
    lastFailure: text("last_failure", { enum: ["declined", "tenant_taken", "provider_error"] }),
    lastFailureAt: integer("last_failure_at"),
    consentStartedAt: integer("consent_started_at"),
  },
  (t) => [
    index("entra_setup_links_org").on(t.organizationId, sql`${t.createdAt} desc`),
    // At most one open link per organization (migrations/0019).
    uniqueIndex("entra_setup_links_open")
      .on(t.organizationId)
      .where(and(isNull(t.revokedAt), isNull(t.usedAt))!),
  ],
);

export const groupRoleMappings = sqliteTable(
  "group_role_mappings",
  {
    organizationId: text("organization_id").notNull(),
    groupId: text("group_id").notNull(),
    groupName: text("group_name").notNull(),
    role: text("role", { enum: MAPPABLE_ROLES }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.groupId] })],
);

/**
 * A run's status. "skipped": a run that changed nothing because another run was going (a nightly
 * run, which read nothing) or a held run was waiting for Apply or Dismiss (error
 * "held_run_pending": it read, to see whether the held people are enabled again, and changed
 * nothing). "superseded": a held run that a later read found nobody left to deactivate in (every
 * person on it enabled again in Entra ID); nobody dismissed it.
 */
const SYNC_RUN_STATUSES = ["running", "succeeded", "failed", "held", "applied", "dismissed", "previewed", "skipped", "superseded"] as const;

/** Why a run failed (sync_runs.error); src/entra/sync/failures.ts says each in the page's words. */
export const SYNC_FAILURE_CODES = [
  "needs_reconnect",
  "not_connected",
  "token_unreadable",
  "sign_in_unavailable",
  "graph_unavailable",
  "throttled",
  "timed_out",
  "forbidden",
  "bad_response",
  "sync_state_lost",
  "tenant_changed",
  "turned_off",
  "internal",
  // Not a failure: a "skipped" run that waited behind a held run (changed nothing, read again later).
  "held_run_pending",
] as const;
export type SyncFailure = (typeof SYNC_FAILURE_CODES)[number];

/** A held or previewed run's summary, with the tenant it read (Apply checks it in SQL). */
export interface PendingChanges {
  linkedMembers: number;
  deactivate: number;
  reactivate: number;
  tenantId: string;
  /**
   * A real-time read's: how many members real-time reads deactivated in the 24 hours before it.
   * They count with its own deactivations against the threshold (concludeRun.ts).
   */
  recentlyDeactivated?: number;
  /** A run started by saving the sync scope with Auto-deprovision off: its list is only the scope's changes (issue 20). */
  scopeChange?: true;
}

/** What started a run: the nightly schedule, "Sync now", "Preview", or a real-time update (migrations/0017). */
export const SYNC_TRIGGERS = ["schedule", "sync_now", "preview", "realtime"] as const;

export const syncRuns = sqliteTable(
  "sync_runs",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    trigger: text("trigger", { enum: SYNC_TRIGGERS }).notNull(),
    mode: text("mode", { enum: ["full", "delta"] }),
    status: text("status", { enum: SYNC_RUN_STATUSES }).notNull(),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
    usersRead: integer("users_read").notNull().default(0),
    deactivated: integer("deactivated").notNull().default(0),
    reactivated: integer("reactivated").notNull().default(0),
    graphRequests: integer("graph_requests").notNull().default(0),
    error: text("error", { enum: SYNC_FAILURE_CODES }),
    pendingChanges: text("pending_changes", { mode: "json" }).$type<PendingChanges>(),
    undoneAt: integer("undone_at"),
    undoneBy: text("undone_by"),
    resolvedBy: text("resolved_by"),
    /** People the run added (Add new people automatically, migrations/0023). */
    added: integer("added").notNull().default(0),
    /** Microsoft Graph throttled it: it reads again at this time (migrations/0032); null while it reads. */
    pausedUntil: integer("paused_until"),
  },
  (t) => [
    // The run history's pages (migrations/0008), the alerts banner's two questions (0012), pruning (0013).
    index("sync_runs_org_started").on(t.organizationId, t.startedAt, t.id),
    index("sync_runs_held").on(t.organizationId, t.startedAt, t.id).where(eq(t.status, "held")),
    index("sync_runs_concluded")
      .on(t.organizationId, t.startedAt, t.id)
      .where(and(ne(t.trigger, "preview"), notInArray(t.status, ["running", "skipped"]))!),
    index("sync_runs_started").on(t.startedAt),
  ],
);

/** Who a full run has seen, one row per Graph page (migrations/0009, WITHOUT ROWID); src/db/syncSeen.ts reads and writes it. */
export const syncRunSeen = sqliteTable(
  "sync_run_seen",
  {
    runId: text("run_id").notNull(),
    /** The run's restart count: a full listing that restarts starts a new set. */
    attempt: integer("attempt").notNull(),
    page: integer("page").notNull(),
    /** How many hashes the row holds. */
    users: integer("users").notNull(),
    /** Base64 of `users` little-endian uint64 hashes, ascending. */
    hashes: text("hashes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.attempt, t.page] })],
);

const SYNC_CHANGES = ["deactivate", "reactivate"] as const;
/** Why a run changes a member: the account's state, or the sync scope ('left_scope', 'in_scope': migrations/0027). */
const SYNC_CAUSES = ["disabled", "deleted", "absent", "enabled", "left_scope", "in_scope"] as const;
export type SyncCause = (typeof SYNC_CAUSES)[number];

/** Who a held or previewed run would change (migrations/0003). */
export const syncRunChanges = sqliteTable(
  "sync_run_changes",
  {
    runId: text("run_id").notNull(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    change: text("change", { enum: SYNC_CHANGES }).notNull(),
    cause: text("cause", { enum: SYNC_CAUSES }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.userId] })],
);

/** Every action the audit log records; the audit page has a label for each. */
const AUDIT_ACTIONS = [
  "member.invited",
  "invitation.revoked",
  "invitation.accepted",
  "member.role_changed",
  "member.deactivated",
  "member.reactivated",
  "entra.connected",
  "entra.connection_failed",
  "entra.disconnected",
  "entra.setup_link_created",
  "entra.setup_link_revoked",
  "entra.setup_consent_started",
  "entra.setup_consent_granted",
  "entra.setup_consent_failed",
  "entra.setting_changed",
  "entra.mapping_changed",
  "entra.user_provisioned",
  "entra.role_mapped",
  "entra.role_mapping_failed",
  "entra.import_applied",
  "entra.import_failed",
  "entra.scope_changed",
  "entra.signin_outside_scope",
  "entra.add_new_people_changed",
  "entra.user_added",
  "entra.joiners_held",
  "entra.scope_leavers_held",
  "entra.joiners_applied",
  "entra.joiners_dismissed",
  "sync.run_finished",
  "sync.held_applied",
  "sync.held_dismissed",
  "sync.held_superseded",
  "sync.run_undone",
  "sync.roles_held",
  "sync.roles_applied",
  "sync.roles_dismissed",
  "sync.roles_undone",
  "sync.profile_email_kept",
  "entra.realtime_started",
  "entra.realtime_stopped",
  "entra.realtime_failed",
  "webhook.endpoint_added",
  "webhook.endpoint_disabled",
  "webhook.endpoint_enabled",
  "webhook.endpoint_deleted",
  "webhook.secret_rotated",
  "webhook.endpoint_disabled_failing",
  "scim.token_created",
  "scim.token_rotated",
  "scim.token_revoked",
  "scim.user_provisioned",
  "scim.member_linked",
  "scim.deactivation_held",
  "scim.held_applied",
  "scim.held_dismissed",
  "scim.mapping_changed",
  "scim.role_mapped",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    organizationId: text("organization_id").notNull(),
    actorUserId: text("actor_user_id"),
    action: text("action", { enum: AUDIT_ACTIONS }).notNull(),
    targetUserId: text("target_user_id"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("audit_events_org").on(t.organizationId, sql`${t.id} desc`)],
);

export const roleDecisions = sqliteTable(
  "role_decisions",
  {
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    rule: text("rule", { enum: ["group", "default", "owner_kept", "graph_failed"] }).notNull(),
    matchedGroups: text("matched_groups", { mode: "json" })
      .$type<{ id: string; name: string; role: MappableRole }[]>()
      .notNull()
      .default([]),
    decidingGroup: text("deciding_group", { mode: "json" }).$type<{ id: string; name: string } | null>(),
    graphReadAt: integer("graph_read_at"),
    decidedAt: integer("decided_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.userId] })],
);

/** Why real-time updates could not be set up or kept (src/entra/realtime/failures.ts says each in the page's words). */
export const REALTIME_FAILURES = [
  "needs_reconnect",
  "not_connected",
  "graph_unavailable",
  "throttled",
  "forbidden",
  "validation_failed",
  "rejected",
  "internal",
] as const;
export type RealtimeFailure = (typeof REALTIME_FAILURES)[number];

/** Real-time updates: the Graph change-notification subscription of an organization (migrations/0010, named in 0017). */
export const realtimeSubscriptions = sqliteTable(
  "realtime_subscriptions",
  {
    organizationId: text("organization_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    subscriptionId: text("subscription_id"),
    clientStateEnc: text("client_state_enc"),
    status: text("status", { enum: ["active", "failed"] }).notNull(),
    expiresAt: integer("expires_at"),
    failure: text("failure", { enum: REALTIME_FAILURES }),
    failedAt: integer("failed_at"),
    lastNotificationAt: integer("last_notification_at"),
    lastNotificationRunId: text("last_notification_run_id"),
    rereadPending: integer("reread_pending", { mode: "boolean" }).notNull().default(false),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("realtime_subscriptions_id").on(t.subscriptionId).where(isNotNull(t.subscriptionId)),
    index("realtime_subscriptions_expiry").on(t.expiresAt),
  ],
);

/** The events an endpoint may subscribe to, as the event catalogue declares them (src/eventCatalogue.ts). */
export const WEBHOOK_EVENT_TYPES = SUBSCRIBABLE_EVENT_TYPES;
export type WebhookEventType = SubscribableEventType;

/** Event webhook endpoints (migrations/0011): the signing secrets only sealed by the token vault. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    url: text("url").notNull(),
    /** The chosen types, space-separated with a space at each end (an event's statement tests it with instr: src/db/outbox.ts). */
    eventTypes: text("event_types").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason", { enum: ["by_hand", "failing"] }),
    disabledAt: integer("disabled_at"),
    secretEnc: text("secret_enc").notNull(),
    previousSecretEnc: text("previous_secret_enc"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    failingSince: integer("failing_since"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    /** No longer read or written: the pace is per organization and URL now (webhook_manual_sends, migrations/0019). */
    manualSendAt: integer("manual_send_at"),
    /** SHA-256 of the Add endpoint submission that made it: a resubmission adds nothing (migrations/0016). */
    submissionKey: text("submission_key"),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("webhook_endpoints_org").on(t.organizationId, t.enabled),
    uniqueIndex("webhook_endpoints_submission").on(t.organizationId, t.submissionKey),
  ],
);

/**
 * Send test event and Redeliver, paced per organization and receiving URL (its query aside): when
 * the last one was sent (migrations/0019, src/db/webhooks.ts takeManualSendSlot).
 */
export const webhookManualSends = sqliteTable(
  "webhook_manual_sends",
  {
    organizationId: text("organization_id").notNull(),
    urlKey: text("url_key").notNull(),
    sentAt: integer("sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.urlKey] }), index("webhook_manual_sends_sent").on(t.sentAt)],
);

/** The outbox: one row per event, written with the change it describes. */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    seq: integer("seq").primaryKey(),
    /** The Standard Webhooks `webhook-id`: the same for every endpoint and every retry. */
    id: text("id").notNull().unique(),
    organizationId: text("organization_id").notNull(),
    type: text("type").notNull(),
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
    relayedAt: integer("relayed_at"),
    /** When a relay claimed the row (src/events/relay.ts); a claim older than the lease may be taken over. */
    claimedAt: integer("claimed_at"),
  },
  // Only the pending rows, for the relay.
  (t) => [index("webhook_events_pending").on(t.seq).where(isNull(t.relayedAt))],
);

export const WEBHOOK_ATTEMPT_OUTCOMES = ["delivered", "retrying", "failed"] as const;
export type WebhookAttemptOutcome = (typeof WEBHOOK_ATTEMPT_OUTCOMES)[number];

/** Delivery attempts, the last 100 per endpoint. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    endpointId: text("endpoint_id").notNull(),
    organizationId: text("organization_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    attempt: integer("attempt").notNull(),
    attemptedAt: integer("attempted_at").notNull(),
    durationMs: integer("duration_ms").notNull(),
    outcome: text("outcome", { enum: WEBHOOK_ATTEMPT_OUTCOMES }).notNull(),
    statusCode: integer("status_code"),
    error: text("error"),
    responseExcerpt: text("response_excerpt"),
  },
  (t) => [index("webhook_attempts_endpoint").on(t.endpointId, t.id)],
);

// Pure readings of the values above, for services and views alike (views may import this file).

export type EntraFeature = "autoProvision" | "autoDeprovision" | "groupRoleMapping";

/** The three toggles, by the names the page and the audit log use. */
export const ENTRA_FEATURES = ["autoProvision", "autoDeprovision", "groupRoleMapping"] as const satisfies readonly EntraFeature[];

export const FEATURE_LABELS: Record<EntraFeature, string> = {
  autoProvision: "Auto-provision users",
  autoDeprovision: "Auto-deprovision sync",
  groupRoleMapping: "Group → Role mapping",
};

/** The plan feature (src/plans.ts) each toggle belongs to: Auto-deprovision switches on the nightly runs. */
export const FEATURE_PLANS: Record<EntraFeature, PlanFeature> = {
  autoProvision: "directorySync",
  autoDeprovision: "deprovisioning",
  groupRoleMapping: "directorySync",
};

/** Where a link stands: only an "open" one can still be used. */
export type SetupLinkState = "open" | "expired" | "revoked" | "used";

export function setupLinkState(link: { usedAt: number | null; revokedAt: number | null; expiresAt: number }, now: number): SetupLinkState {
  if (link.usedAt !== null) return "used";
  if (link.revokedAt !== null) return "revoked";
  return link.expiresAt > now ? "open" : "expired";
}

/** The subscribed event types of a webhook_endpoints.event_types column (" a b c "). */
export function eventTypesOf(column: string): string[] {
  return column.trim().split(/\s+/).filter(Boolean);
}

/** SCIM bearer tokens (migrations/0020): only the SHA-256 of each token is stored. */
export const scimTokens = sqliteTable(
  "scim_tokens",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    /** Set when Rotate replaced the token: it keeps working until then. */
    graceExpiresAt: integer("grace_expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("scim_tokens_org").on(t.organizationId, t.createdAt)],
);

/** SCIM's view of a member (migrations/0020): the SCIM `id` is users.id; `resource` the stored User. */
export const scimUsers = sqliteTable(
  "scim_users",
  {
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    userName: text("user_name").notNull(),
    /** lower(user_name): userName is unique per organization, case-insensitively. */
    userNameKey: text("user_name_key").notNull(),
    externalId: text("external_id"),
    active: integer("active", { mode: "boolean" }).notNull(),
    /** SCIM created the users row (else it adopted an existing member, whose name it leaves alone). */
    ownsUser: integer("owns_user", { mode: "boolean" }).notNull(),
    resource: text("resource").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /** lower() of the email UniAsset knows the User by (migrations/0021): sign-in links by it. */
    emailKey: text("email_key"),
    /** The Microsoft Entra object id the provider sent (a GUID externalId): sign-in links by it. */
    entraObjectId: text("entra_object_id"),
    /** 0: a member written as a User by Generate token, not pushed by the provider yet (a POST claims it). */
    pushed: integer("pushed").notNull().default(1),
    /** Set while a batch decides the User's mapped role again (src/db/scimRoles.ts). */
    rolePending: integer("role_pending").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.userId] }),
    uniqueIndex("scim_users_user_name").on(t.organizationId, t.userNameKey),
    index("scim_users_external_id").on(t.organizationId, t.externalId).where(isNotNull(t.externalId)),
    index("scim_users_email").on(t.emailKey).where(isNotNull(t.emailKey)),
    index("scim_users_entra_object").on(t.entraObjectId).where(isNotNull(t.entraObjectId)),
    index("scim_users_role_pending").on(t.organizationId, t.userId).where(sql`${t.rolePending} = 1`),
  ],
);

export const scimGroups = sqliteTable(
  "scim_groups",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    displayName: text("display_name").notNull(),
    displayNameKey: text("display_name_key").notNull(),
    externalId: text("external_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("scim_groups_org").on(t.organizationId, t.id),
    index("scim_groups_name").on(t.organizationId, t.displayNameKey),
    index("scim_groups_external_id").on(t.organizationId, t.externalId).where(isNotNull(t.externalId)),
  ],
);

/** Members of SCIM groups (WITHOUT ROWID): Users of the group's organization. */
export const scimGroupMembers = sqliteTable(
  "scim_group_members",
  {
    groupId: text("group_id").notNull(),
    userId: text("user_id").notNull(),
    organizationId: text("organization_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index("scim_group_members_user").on(t.organizationId, t.userId)],
);

/** The last 7 days of SCIM requests of an organization (the settings page): never a body or a token. */
export const scimRequests = sqliteTable(
  "scim_requests",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    organizationId: text("organization_id").notNull(),
    tokenId: text("token_id").notNull(),
    at: integer("at").notNull(),
    method: text("method").notNull(),
    resource: text("resource").notNull(),
    status: integer("status").notNull(),
    outcome: text("outcome"),
  },
  (t) => [index("scim_requests_org").on(t.organizationId, t.at, t.id)],
);

/** An organization's SCIM settings (migrations/0021): the default role of pushed members. */
export const scimSettings = sqliteTable("scim_settings", {
  organizationId: text("organization_id").primaryKey(),
  defaultRole: text("default_role", { enum: MAPPABLE_ROLES }).notNull().default("member"),
  updatedAt: integer("updated_at").notNull(),
});

/** How many SCIM Users each organization has, kept by triggers on scim_users (migrations/0021). */
export const scimUserCounts = sqliteTable("scim_user_counts", {
  organizationId: text("organization_id").primaryKey(),
  users: integer("users").notNull(),
});

/** SCIM groups mapped to a role (migrations/0021). */
export const scimGroupRoles = sqliteTable(
  "scim_group_roles",
  {
    organizationId: text("organization_id").notNull(),
    groupId: text("group_id").notNull(),
    role: text("role", { enum: MAPPABLE_ROLES }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.groupId] })],
);

/** The provider's deactivations of the last 24 hours, and those held for Apply (migrations/0021). */
export const scimDeprovisions = sqliteTable(
  "scim_deprovisions",
  {
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    requestedAt: integer("requested_at").notNull(),
    held: integer("held", { mode: "boolean" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.userId] }),
    index("scim_deprovisions_recent").on(t.organizationId, t.requestedAt),
    index("scim_deprovisions_held").on(t.organizationId, t.requestedAt).where(sql`${t.held} = 1`),
  ],
);

// --- Movers (migrations/0022) ------------------------------------------------------------------

/** Where an organization's group delta stands (the sealed deltaLink of /groups/delta). */
export const groupDeltaLinks = sqliteTable("group_delta_links", {
  organizationId: text("organization_id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  deltaLinkEnc: text("delta_link_enc").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** The change-notification subscription on /groups, beside the users one (realtime_subscriptions). */
export const groupSubscriptions = sqliteTable(
  "group_subscriptions",
  {
    organizationId: text("organization_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    subscriptionId: text("subscription_id").notNull(),
    clientStateEnc: text("client_state_enc").notNull(),
    expiresAt: integer("expires_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("group_subscriptions_id").on(t.subscriptionId)],
);

/** The role changes a run made or held (Undo, and a held run's Apply/Dismiss). */
export const runRoleChanges = sqliteTable(
  "run_role_changes",
  {
    runId: text("run_id").notNull(),
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    fromRole: text("from_role", { enum: MAPPABLE_ROLES }).notNull(),
    toRole: text("to_role", { enum: MAPPABLE_ROLES }).notNull(),
    decidingGroup: text("deciding_group", { mode: "json" }).$type<{ id: string; name: string } | null>(),
    rule: text("rule", { enum: ["group", "default"] }).notNull(),
    state: text("state", { enum: ["held", "applied", "dismissed", "undone"] }).notNull(),
    decidedAt: integer("decided_at").notNull(),
    /** Held before it was applied (or dismissed): a person's decision, not counted as a real-time read's lowering (migrations/0028). */
    wasHeld: integer("was_held", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.userId] }),
    index("run_role_changes_org").on(t.organizationId, t.decidedAt, t.runId),
    index("run_role_changes_held").on(t.organizationId, t.decidedAt, t.runId).where(eq(t.state, "held")),
    index("run_role_changes_decided").on(t.decidedAt).where(ne(t.state, "held")),
  ],
);

/** A linked member's work profile as the directory last said it (migrations/0022). */
export const memberProfiles = sqliteTable(
  "member_profiles",
  {
    organizationId: text("organization_id").notNull(),
    userId: text("user_id").notNull(),
    department: text("department"),
    jobTitle: text("job_title"),
    officeLocation: text("office_location"),
    employeeId: text("employee_id"),
    managerOid: text("manager_oid"),
    costCenter: text("cost_center"),
    departmentKey: text("department_key"),
    officeKey: text("office_key"),
    nameKey: text("name_key"),
    updatedAt: integer("updated_at").notNull(),
    /** The membership's role and standing ("active" or its deactivated_reason), kept by triggers (migrations/0028): the list's filter columns. */
    role: text("role", { enum: ROLES }),
    standing: text("standing", { enum: MEMBER_STANDINGS }),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.userId] }),
    // The Users page's profile filters (migrations/0028): by standing, and by role then standing.
    index("member_profiles_by_department").on(t.organizationId, t.departmentKey, t.standing, t.nameKey, t.userId),
    index("member_profiles_by_department_role").on(t.organizationId, t.departmentKey, t.role, t.standing, t.nameKey, t.userId),
    index("member_profiles_by_office").on(t.organizationId, t.officeKey, t.standing, t.nameKey, t.userId),
    index("member_profiles_by_office_role").on(t.organizationId, t.officeKey, t.role, t.standing, t.nameKey, t.userId),
    index("member_profiles_by_department_office").on(t.organizationId, t.departmentKey, t.officeKey, t.standing, t.nameKey, t.userId),
    index("member_profiles_by_department_office_role").on(
      t.organizationId,
      t.departmentKey,
      t.officeKey,
      t.role,
      t.standing,
      t.nameKey,
      t.userId,
    ),
  ],
);

/** Each organization's Group → Role mapping version: edited vs applied by a run (migrations/0024). */
export const mappingEdits = sqliteTable("mapping_edits", {
  organizationId: text("organization_id").primaryKey(),
  editedVersion: integer("edited_version").notNull(),
  appliedVersion: integer("applied_version").notNull().default(0),
  editedAt: integer("edited_at").notNull(),
});

/** A re-deciding run's scratch: the mapped groups each member is in (migrations/0024). */
export const remapMatches = sqliteTable(
  "remap_matches",
  {
    runId: text("run_id").notNull(),
    userId: text("user_id").notNull(),
    groups: text("groups", { mode: "json" }).$type<string[]>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.userId] })],
);

/** Who the directory brings in (migrations/0023): everyone in the chosen domains, or only members of chosen groups. */
export const SYNC_SCOPE_MODES = ["domains", "groups"] as const;
export type SyncScopeMode = (typeof SYNC_SCOPE_MODES)[number];
/** At most this many groups in a group scope. */
export const MAX_SCOPE_GROUPS = 50;

/** An organization's sync scope and "Add new people automatically"; no row is the default (domains, off). */
export const syncScopes = sqliteTable("sync_scopes", {
  organizationId: text("organization_id").primaryKey(),
  mode: text("mode", { enum: SYNC_SCOPE_MODES }).notNull().default("domains"),
  addNewPeople: integer("add_new_people", { mode: "boolean" }).notNull().default(false),
  updatedAt: integer("updated_at").notNull(),
  updatedBy: text("updated_by"),
});

/** The groups of a group scope (members of nested groups count). */
export const syncScopeGroups = sqliteTable(
  "sync_scope_groups",
  {
    organizationId: text("organization_id").notNull(),
    groupId: text("group_id").notNull(),
    displayName: text("display_name").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.groupId] })],
);

/** The tenant's verified domains as the last run found them, each chosen or not, "new" until decided. */
export const syncScopeDomains = sqliteTable(
  "sync_scope_domains",
  {
    organizationId: text("organization_id").notNull(),
    name: text("name").notNull(),
    chosen: integer("chosen", { mode: "boolean" }).notNull(),
    isNew: integer("is_new", { mode: "boolean" }).notNull().default(false),
    isInitial: integer("is_initial", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.name] })],
);

/** A run's additions held by the hold threshold, until Apply or Dismiss (migrations/0023). */
export const syncHeldJoiners = sqliteTable(
  "sync_held_joiners",
  {
    organizationId: text("organization_id").notNull(),
    oid: text("oid").notNull(),
    runId: text("run_id").notNull(),
    person: text("person").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.oid] })],
);

/** Why an import failed (migrations/0026): the sync failures a page read can meet, and `not_started`; views/parts/importFailures.ts words them. */
export const IMPORT_FAILURE_CODES = [
  "bad_response",
  "forbidden",
  "graph_unavailable",
  "internal",
  // A preview of the next run (migrations/0030): Group → Role mapping was turned off while it ran.
  "mapping_off",
  "needs_reconnect",
  "not_connected",
  "not_started",
  "sign_in_unavailable",
  "tenant_changed",
  "throttled",
  "token_unreadable",
] as const;
export type ImportFailure = (typeof IMPORT_FAILURE_CODES)[number];

/** What a directory_imports row is: an Import preview or apply, a sync scope preview, a preview of the next run. */
export const IMPORT_PHASES = ["preview", "apply", "scope", "next_run"] as const;
export type ImportPhase = (typeof IMPORT_PHASES)[number];

/**
 * A preview or an apply of Import, the preview of a sync scope change ("scope", migrations/0029) or
 * the mapping page's preview of the next run ("next_run", migrations/0030), run as a Workflow; its
 * steps write their progress here (migrations/0026).
 */
export const directoryImports = sqliteTable(
  "directory_imports",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    phase: text("phase", { enum: IMPORT_PHASES }).notNull(),
    status: text("status", { enum: ["running", "succeeded", "failed"] }).notNull(),
    scope: text("scope").notNull(),
    groups: text("groups").notNull().default("[]"),
    previewId: text("preview_id"),
    expectedUsers: integer("expected_users"),
    startedBy: text("started_by"),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
    usersRead: integer("users_read").notNull().default(0),
    tally: text("tally").notNull().default("{}"),
    mappingOn: integer("mapping_on", { mode: "boolean" }).notNull().default(false),
    added: integer("added").notNull().default(0),
    error: text("error", { enum: IMPORT_FAILURE_CODES }),
    /** Microsoft Graph throttled it: it reads again at this time (migrations/0031); null while it reads. */
    pausedUntil: integer("paused_until"),
  },
  (t) => [
    uniqueIndex("directory_imports_running").on(t.organizationId).where(eq(t.status, "running")),
    index("directory_imports_org_started").on(t.organizationId, t.startedAt),
  ],
);

/** An import's scratch rows, cleared when it ends (migrations/0026, WITHOUT ROWID). */
export const directoryImportPeople = sqliteTable(
  "directory_import_people",
  {
    importId: text("import_id").notNull(),
    oid: text("oid").notNull(),
    inScope: integer("in_scope").notNull().default(0),
    mapped: text("mapped").notNull().default(""),
    listed: integer("listed").notNull().default(0),
    person: text("person"),
  },
  (t) => [
    primaryKey({ columns: [t.importId, t.oid] }),
    // An apply's people waiting to be written, apart from the many scratch rows without one (migrations/0033).
    index("directory_import_people_pending").on(t.importId, t.oid).where(isNotNull(t.person)),
  ],
);
