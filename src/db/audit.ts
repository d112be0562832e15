// The audit log: append-only; details never hold a token or secret.
import { and, desc, eq, lt } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";
import { auditEvents, users } from "./schema.ts";

export const AUDIT_ACTIONS = [
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
  "sync.run_finished",
  "sync.held_applied",
  "sync.held_dismissed",
  "sync.run_undone",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
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

const actor = alias(users, "actor");
const target = alias(users, "target");

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
