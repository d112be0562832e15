// The audit log: append-only; details never hold a token or secret.
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";
import { statement, type Statement } from "./statements.ts";
import { auditEvents, users, type AuditAction } from "./schema.ts";

interface AuditEvent {
  organizationId: string;
  /** null: the system acted ("directory sync"). */
  actorUserId: string | null;
  action: AuditAction;
  targetUserId?: string | null;
  details?: Record<string, unknown>;
  now: number;
}

export function insertAuditEvent(db: Db, event: AuditEvent) {
  return db.insert(auditEvents).values({
    organizationId: event.organizationId,
    actorUserId: event.actorUserId,
    action: event.action,
    targetUserId: event.targetUserId ?? null,
    details: event.details ?? {},
    createdAt: event.now,
  });
}

/**
 * insertAuditEvent for what the signed-in Owner or Admin did in their own organization (a button of
 * the Entra pages): the organization and the actor are always theirs, so only the action differs.
 */
export function insertViewerAuditEvent(
  db: Db,
  viewer: { organizationId: string; userId: string },
  event: Pick<AuditEvent, "action" | "details">,
  now: number,
) {
  return insertAuditEvent(db, { organizationId: viewer.organizationId, actorUserId: viewer.userId, ...event, now });
}

/**
 * Audit rows written by a set-based statement: one row per row that `rows` (a FROM/WHERE clause,
 * or a bare WHERE) yields, so a change to many members is audited in the same statement that
 * selects them. The action is typed like insertAuditEvent's; target and details may read the rows.
 */
export function insertAuditEventsFor(
  event: { organizationId: string; actorUserId: string | null; action: AuditAction; targetUserId?: SQL; details: SQL; now: number },
  rows: SQL,
): SQL {
  return sql`
    insert into audit_events (organization_id, actor_user_id, action, target_user_id, details, created_at)
    select ${event.organizationId}, ${event.actorUserId}, ${event.action}, ${event.targetUserId ?? sql`null`}, ${event.details}, ${event.now}
    ${rows}`;
}

/** insertAuditEventsFor as one statement of a write batch: how every change audits itself. */
export function auditStatement(db: Db, event: Parameters<typeof insertAuditEventsFor>[0], rows: SQL): Statement {
  return statement(db, insertAuditEventsFor(event, rows));
}

const actor = alias(users, "actor");
const target = alias(users, "target");

/**
 * The organization's events older than `beforeId`, newest first: one range of audit_events_org
 * read backwards from the cursor, stopping at the LIMIT (EXPLAIN QUERY PLAN: `SEARCH
 * audit_events USING INDEX audit_events_org (organization_id=? AND id<?)`, then the actor and
 * target by primary key; no temp B-tree).
 */
export function listAuditEvents(db: Db, organizationId: string, options: { beforeId?: number; limit: number }) {
  return db
    .select({
      id: auditEvents.id,
      action: auditEvents.action,
      details: auditEvents.details,
      createdAt: auditEvents.createdAt,
      actorName: actor.displayName,
      targetName: target.displayName,
      targetEmail: target.email,
    })
    .from(auditEvents)
    .leftJoin(actor, eq(actor.id, auditEvents.actorUserId))
    .leftJoin(target, eq(target.id, auditEvents.targetUserId))
    .where(
      and(
        eq(auditEvents.organizationId, organizationId),
        options.beforeId === undefined ? undefined : lt(auditEvents.id, options.beforeId),
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(options.limit);
}

export type AuditEventRow = Awaited<ReturnType<typeof listAuditEvents>>[number];
