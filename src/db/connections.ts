// The organization's Entra connection. Token columns are token-vault ciphertext (src/lib/vault.ts)
// and are selected only by the functions that need them.
import { and, eq, sql } from "drizzle-orm";
import { insertEventsFor } from "./outbox.ts";
import type { Db } from "./client.ts";
import { planIncludes } from "./planFeatures.ts";
import { entraConnections, groupRoleMappings, organizations, users } from "./schema.ts";
import { scopeColumns } from "./syncScope.ts";

/** What the settings pages show: never a token column. */
export async function findConnectionSummary(db: Db, organizationId: string) {
  const [row] = await db
    .select({
      status: entraConnections.status,
      tenantId: entraConnections.tenantId,
      tenantName: entraConnections.tenantName,
      defaultDomain: entraConnections.defaultDomain,
      verifiedDomains: entraConnections.verifiedDomains,
      connectedAt: entraConnections.connectedAt,
      connectedByName: users.displayName,
      connectedByRoles: entraConnections.connectedByRoles,
      failureReason: entraConnections.failureReason,
      autoProvision: entraConnections.autoProvision,
      autoDeprovision: entraConnections.autoDeprovision,
      groupRoleMapping: entraConnections.groupRoleMapping,
      defaultRole: entraConnections.defaultRole,
    })
    .from(entraConnections)
    .leftJoin(users, eq(users.id, entraConnections.connectedBy))
    .where(eq(entraConnections.organizationId, organizationId))
    .limit(1);
  return row;
}

export type ConnectionSummary = NonNullable<Awaited<ReturnType<typeof findConnectionSummary>>>;

export { ENTRA_FEATURES, FEATURE_LABELS, FEATURE_PLANS, type EntraFeature } from "./schema.ts";
import type { EntraFeature } from "./schema.ts";

/** Which organization (if any) has this tenant connected. */
export async function findOrganizationOfTenant(db: Db, tenantId: string) {
  const [row] = await db
    .select({ organizationId: entraConnections.organizationId })
    .from(entraConnections)
    .where(eq(entraConnections.tenantId, tenantId))
    .limit(1);
  return row?.organizationId;
}

interface ConnectedValues {
  organizationId: string;
  tenantId: string;
  tenantName: string | null;
  verifiedDomains: string[] | null;
  defaultDomain: string | null;
  connectedBy: string;
  connectedByRoles: string[] | null;
  /** The same tenant reconnected: the three features resume as they were instead of starting off. */
  keepFeatures: boolean;
  refreshTokenEnc: string;
  accessTokenEnc: string;
  accessTokenExpiresAt: number;
  now: number;
}

/**
 * A connection made: tokens stored, delta state cleared. Features start off unless the same
 * tenant is reconnected (they were paused by "Needs reconnect", not switched off).
 */
export function saveConnected(db: Db, v: ConnectedValues) {
  const values = {
    status: "connected" as const,
    tenantId: v.tenantId,
    tenantName: v.tenantName,
    verifiedDomains: v.verifiedDomains,
    defaultDomain: v.defaultDomain,
    connectedBy: v.connectedBy,
    connectedByRoles: v.connectedByRoles,
    connectedAt: v.now,
    failureReason: null,
    refreshTokenEnc: v.refreshTokenEnc,
    accessTokenEnc: v.accessTokenEnc,
    accessTokenExpiresAt: v.accessTokenExpiresAt,
    deltaLinkEnc: null,
    updatedAt: v.now,
  };
  const featuresOff = { autoProvision: false, autoDeprovision: false, groupRoleMapping: false };
  return db
    .insert(entraConnections)
    .values({ organizationId: v.organizationId, ...values, ...featuresOff })
    .onConflictDoUpdate({ target: entraConnections.organizationId, set: v.keepFeatures ? values : { ...values, ...featuresOff } });
}

/**
 * Records a failed attempt, without touching a connection that is working or waiting to be
 * reconnected (its "Needs reconnect" and paused features stay what the page and sign-in go by).
 */
export function saveFailedAttempt(db: Db, organizationId: string, reason: string, now: number) {
  return db
    .insert(entraConnections)
    .values({ organizationId, status: "failed", failureReason: reason, updatedAt: now })
    .onConflictDoUpdate({
      target: entraConnections.organizationId,
      set: { status: "failed", failureReason: reason, updatedAt: now },
      setWhere: sql`${entraConnections.status} = 'failed'`,
    });
}

export function saveFeatureToggle(db: Db, organizationId: string, feature: EntraFeature, enabled: boolean, now: number) {
  return db
    .update(entraConnections)
    .set({ [feature]: enabled, updatedAt: now })
    .where(and(eq(entraConnections.organizationId, organizationId), eq(entraConnections.status, "connected")))
    .returning({ organizationId: entraConnections.organizationId });
}

export function saveTenantDetails(
  db: Db,
  organizationId: string,
  details: { tenantName: string; verifiedDomains: string[]; defaultDomain: string },
  now: number,
) {
  return db
    .update(entraConnections)
    .set({ ...details, updatedAt: now })
    .where(eq(entraConnections.organizationId, organizationId));
}

/** Removes the connection: tokens, tenant, domains, delta state and mappings all go. */
export function deleteConnection(db: Db, organizationId: string) {
  return [
    db.delete(entraConnections).where(eq(entraConnections.organizationId, organizationId)),
    db.delete(groupRoleMappings).where(eq(groupRoleMappings.organizationId, organizationId)),
  ] as const;
}

/** The token columns (vault ciphertext) and what decides whether they may be used. */
const TOKEN_COLUMNS = {
  status: entraConnections.status,
  tenantId: entraConnections.tenantId,
  refreshTokenEnc: entraConnections.refreshTokenEnc,
  accessTokenEnc: entraConnections.accessTokenEnc,
  accessTokenExpiresAt: entraConnections.accessTokenExpiresAt,
};

/** The sealed tokens, for the token service only. */
export async function findConnectionTokens(db: Db, organizationId: string) {
  const [row] = await db.select(TOKEN_COLUMNS).from(entraConnections).where(eq(entraConnections.organizationId, organizationId)).limit(1);
  return row;
}

export type ConnectionTokens = NonNullable<Awaited<ReturnType<typeof findConnectionTokens>>>;

/** The sealed tokens of the connection of a tenant (sign-in reads them in its one read batch). */
export function findConnectionTokensOfTenant(db: Db, tenantId: string) {
  return db
    .select({ organizationId: entraConnections.organizationId, ...TOKEN_COLUMNS })
    .from(entraConnections)
    .where(eq(entraConnections.tenantId, tenantId))
    .limit(1);
}

/** Still true on the primary: the organization provisions people of this tenant (a sign-in premise). */
export function connectionStillProvisions(organizationId: string, tenantId: string) {
  return sql`exists (select 1 from ${entraConnections} c join ${organizations} o on o.id = c.organization_id and ${planIncludes(sql`o.plan`, "directorySync")}
    where c.organization_id = ${organizationId} and c.tenant_id = ${tenantId} and c.status = 'connected' and c.auto_provision = 1)`;
}

/**
 * Stores a refreshed access token and the rotated refresh token in one write, only if the refresh
 * token is still the one we used (a concurrent refresh wins; we then read its result).
 */
export function saveRefreshedTokens(
  db: Db,
  organizationId: string,
  tokens: { previousRefreshTokenEnc: string; refreshTokenEnc: string; accessTokenEnc: string; accessTokenExpiresAt: number; now: number },
) {
  return db
    .update(entraConnections)
    .set({
      refreshTokenEnc: tokens.refreshTokenEnc,
      accessTokenEnc: tokens.accessTokenEnc,
      accessTokenExpiresAt: tokens.accessTokenExpiresAt,
      updatedAt: tokens.now,
    })
    .where(and(eq(entraConnections.organizationId, organizationId), eq(entraConnections.refreshTokenEnc, tokens.previousRefreshTokenEnc)))
    .returning({ organizationId: entraConnections.organizationId });
}

/**
 * The grant is gone: features stop until an admin connects again. Tokens are dropped. Only the
 * change of status raises connection.needs_reconnect (it is not audited), in the same batch,
 * before the update, from the row it is about to change.
 */
export function saveNeedsReconnect(db: Db, organizationId: string, reason: string, now: number, refreshTokenEnc: string) {
  const stillOurs = and(eq(entraConnections.organizationId, organizationId), eq(entraConnections.refreshTokenEnc, refreshTokenEnc))!;
  return [
    insertEventsFor(
      "connection.needs_reconnect",
      {
        organizationId,
        now,
        data: {
          organization_id: organizationId,
          tenant_id: sql`${entraConnections.tenantId}`,
          tenant_name: sql`${entraConnections.tenantName}`,
          reason,
        },
      },
      { from: sql`${entraConnections}`, where: sql`${stillOurs} and ${entraConnections.status} != 'needs_reconnect'` },
    ),
    db
      .update(entraConnections)
      .set({
        status: "needs_reconnect",
        failureReason: reason,
        refreshTokenEnc: null,
        accessTokenEnc: null,
        accessTokenExpiresAt: null,
        updatedAt: now,
      })
      .where(stillOurs),
  ];
}

/** The connection (if any) of the tenant a person signed in from: what sign-in needs to decide. */
export function findConnectionOfTenant(db: Db, tenantId: string) {
  return (
    db
      .select({
        organizationId: entraConnections.organizationId,
        status: entraConnections.status,
        verifiedDomains: entraConnections.verifiedDomains,
        autoProvision: entraConnections.autoProvision,
        groupRoleMapping: entraConnections.groupRoleMapping,
        defaultRole: entraConnections.defaultRole,
        // The sync scope (issue 20), in the same statement: who auto-provisioning may let in.
        ...scopeColumns(entraConnections.organizationId),
      })
      .from(entraConnections)
      // Directory features run only while the organization's plan has directory sync (a downgrade pauses them).
      .innerJoin(
        organizations,
        and(eq(organizations.id, entraConnections.organizationId), planIncludes(organizations.plan, "directorySync")),
      )
      .where(eq(entraConnections.tenantId, tenantId))
      .limit(1)
  );
}

export type TenantConnection = Awaited<ReturnType<typeof findConnectionOfTenant>>[number];
