// Azure-admin setup links (migrations/0005). The link's secret is never stored: only its SHA-256.
import { and, desc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { entraSetupLinks, organizations, users } from "./schema.ts";
import { insertAuditEventsFor } from "./audit.ts";
import type { AuditAction } from "./schema.ts";

export function insertSetupLink(
  db: Db,
  link: { id: string; organizationId: string; tokenHash: string; createdBy: string; createdAt: number; expiresAt: number },
) {
  return db.insert(entraSetupLinks).values(link);
}

/**
 * Ends every open link of the organization (a new link replaces them). "Open" is what the unique
 * index entra_setup_links_open covers (migrations/0019): neither revoked nor used.
 */
export function revokeOpenSetupLinks(db: Db, organizationId: string, now: number) {
  return db
    .update(entraSetupLinks)
    .set({ revokedAt: now })
    .where(and(eq(entraSetupLinks.organizationId, organizationId), isNull(entraSetupLinks.revokedAt), isNull(entraSetupLinks.usedAt)));
}

/**
 * The audit row of a new link, naming the open links it replaces: it goes first in the batch that
 * revokes them, so it reads them before they are revoked.
 */
export function auditSetupLinkCreated(link: { id: string; organizationId: string; createdBy: string; expiresAt: number }, now: number) {
  const action: AuditAction = "entra.setup_link_created";
  const replaced = sql`(select group_concat(id, ', ') from entra_setup_links
    where organization_id = ${link.organizationId} and revoked_at is null and used_at is null)`;
  return insertAuditEventsFor(
    {
      organizationId: link.organizationId,
      actorUserId: link.createdBy,
      action,
      details: sql`json_object('linkId', ${link.id}, 'expiresAt', ${new Date(link.expiresAt).toISOString()}, 'replacedLinkIds', ${replaced})`,
      now,
    },
    sql``,
  );
}

/** Revokes one open link of this organization; nothing when it is another's, used or revoked. */
export function revokeSetupLink(db: Db, organizationId: string, id: string, now: number) {
  return db
    .update(entraSetupLinks)
    .set({ revokedAt: now })
    .where(
      and(
        eq(entraSetupLinks.id, id),
        eq(entraSetupLinks.organizationId, organizationId),
        isNull(entraSetupLinks.revokedAt),
        isNull(entraSetupLinks.usedAt),
      ),
    )
    .returning({ id: entraSetupLinks.id });
}

/** A link by its secret's hash (or by id), with the organization it names, whatever its state. */
export async function findSetupLink(db: Db, by: { tokenHash: string } | { id: string }) {
  const [row] = await db
    .select({
      id: entraSetupLinks.id,
      organizationId: entraSetupLinks.organizationId,
      organizationName: organizations.name,
      plan: organizations.plan,
      createdByName: users.displayName,
      expiresAt: entraSetupLinks.expiresAt,
      revokedAt: entraSetupLinks.revokedAt,
      usedAt: entraSetupLinks.usedAt,
    })
    .from(entraSetupLinks)
    .innerJoin(organizations, eq(organizations.id, entraSetupLinks.organizationId))
    .leftJoin(users, eq(users.id, entraSetupLinks.createdBy))
    .where("tokenHash" in by ? eq(entraSetupLinks.tokenHash, by.tokenHash) : eq(entraSetupLinks.id, by.id))
    .limit(1);
  return row;
}

export type SetupLinkRow = NonNullable<Awaited<ReturnType<typeof findSetupLink>>>;

/** The audit row of a granted consent, written only if this batch marked the link used at `now`. */
export function auditConsentGranted(organizationId: string, id: string, tenantId: string, details: Record<string, unknown>, now: number) {
  const action: AuditAction = "entra.setup_consent_granted";
  return insertAuditEventsFor(
    { organizationId, actorUserId: null, action, details: sql`${JSON.stringify({ ...details, linkId: id, tenantId })}`, now },
    sql`where exists (select 1 from entra_setup_links where id = ${id} and used_at = ${now} and consented_tenant_id = ${tenantId})`,
  );
}

/** Single use, enforced in SQL: only an open, unexpired link is marked used. */
export function markSetupLinkUsed(db: Db, id: string, tenantId: string, now: number) {
  return db
    .update(entraSetupLinks)
    .set({ usedAt: now, consentedTenantId: tenantId })
    .where(
      and(
        eq(entraSetupLinks.id, id),
        isNull(entraSetupLinks.usedAt),
        isNull(entraSetupLinks.revokedAt),
        gt(entraSetupLinks.expiresAt, now),
      ),
    )
    .returning({ id: entraSetupLinks.id });
}

/**
 * Remembers why an attempt through the link did not grant consent. A declined consent leaves the
 * link open for another try; a tenant connected elsewhere closes it, so a link cannot be used to
 * probe which tenants are UniAsset customers.
 */
export function saveSetupLinkFailure(db: Db, id: string, failure: "declined" | "tenant_taken" | "provider_error", now: number) {
  return db
    .update(entraSetupLinks)
    .set({ lastFailure: failure, lastFailureAt: now, ...(failure === "tenant_taken" ? { revokedAt: now } : {}) })
    .where(eq(entraSetupLinks.id, id));
}

/** The organization's latest links (the Entra page shows the open one and the last consent). */
export function listSetupLinks(db: Db, organizationId: string, limit = 5) {
  return db
    .select({
      id: entraSetupLinks.id,
      createdByName: users.displayName,
      createdAt: entraSetupLinks.createdAt,
      expiresAt: entraSetupLinks.expiresAt,
      revokedAt: entraSetupLinks.revokedAt,
      usedAt: entraSetupLinks.usedAt,
      consentedTenantId: entraSetupLinks.consentedTenantId,
      lastFailure: entraSetupLinks.lastFailure,
      lastFailureAt: entraSetupLinks.lastFailureAt,
    })
    .from(entraSetupLinks)
    .leftJoin(users, eq(users.id, entraSetupLinks.createdBy))
    .where(eq(entraSetupLinks.organizationId, organizationId))
    .orderBy(desc(entraSetupLinks.createdAt))
    .limit(limit);
}

export type SetupLinkSummary = Awaited<ReturnType<typeof listSetupLinks>>[number];

export { setupLinkState, type SetupLinkState } from "./schema.ts";

/**
 * The Azure administrator left for Microsoft: the link is marked, unless it was marked less than
 * `quietMs` ago, and its audit row is written only if this batch marked it (anyone holding the
 * link can press the button, so the log cannot be grown by pressing it again).
 */
export function markConsentStarted(db: Db, id: string, now: number, quietMs: number) {
  return db
    .update(entraSetupLinks)
    .set({ consentStartedAt: now })
    .where(
      and(eq(entraSetupLinks.id, id), or(isNull(entraSetupLinks.consentStartedAt), lt(entraSetupLinks.consentStartedAt, now - quietMs))),
    );
}

export function auditConsentStarted(organizationId: string, id: string, details: Record<string, unknown>, now: number) {
  const action: AuditAction = "entra.setup_consent_started";
  return insertAuditEventsFor(
    { organizationId, actorUserId: null, action, details: sql`${JSON.stringify({ ...details, linkId: id })}`, now },
    sql`where exists (select 1 from entra_setup_links where id = ${id} and consent_started_at = ${now})`,
  );
}
