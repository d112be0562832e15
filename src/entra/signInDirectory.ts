// What the directory says at a Microsoft sign-in: whether a person without an account may be
// provisioned, and which role their groups give them. Graph is read with the organization's
// delegated token; a Graph failure never blocks a sign-in that is otherwise allowed.
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import type { Write } from "../db/statements.ts";
import type { TenantConnection } from "../db/connections.ts";
import { listMappings, saveRoleDecision } from "../db/mappings.ts";
import { updateMappedRole } from "../db/members.ts";
import type { MappableRole, Role } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import { isDirectoryGuest, isProvisionableMember, readDirectoryUser, readTransitiveGroups } from "./directory.ts";
import { GRAPH_BUDGETS, GraphError } from "./graph.ts";
import { withOrganizationGraph } from "./graphAccess.ts";
import { resolveRoleFromGroups, type RoleDecision } from "./groupRoles.ts";
import { ConnectionTokenError } from "./tokens.ts";

type ProvisioningVerdict =
  | { ok: true }
  | { ok: false; reason: "guest" | "outside_verified_domains" | "disabled" | "directory_unavailable" | "connection_needs_reconnect" };

/**
 * May this person get an account without an invitation? Only a member (not a guest) of the
 * connected tenant, enabled, whose UPN is in a verified domain — as Graph reports it, never the
 * email claims of the ID token.
 */
export async function checkProvisioning(
  db: Db,
  config: Config,
  connection: TenantConnection,
  oid: string,
): Promise<ProvisioningVerdict> {
  try {
    const user = await withOrganizationGraph(db, config, connection.organizationId, (graph) => readDirectoryUser(graph, oid), GRAPH_BUDGETS.signIn);
    if (isDirectoryGuest(user)) return { ok: false, reason: "guest" };
    if (user.accountEnabled === false) return { ok: false, reason: "disabled" };
    if (!isProvisionableMember(user, connection.verifiedDomains ?? [])) return { ok: false, reason: "outside_verified_domains" };
    return { ok: true };
  } catch (error) {
    // The grant died at this very sign-in (invalid_grant): the connection is now "needs reconnect".
    if (error instanceof ConnectionTokenError && (error.kind === "needs_reconnect" || error.kind === "unreadable")) {
      return { ok: false, reason: "connection_needs_reconnect" };
    }
    if (error instanceof GraphError || error instanceof ConnectionTokenError) return { ok: false, reason: "directory_unavailable" };
    throw error;
  }
}

type GroupRoleOutcome =
  | { ok: true; decision: RoleDecision; graphReadAt: number }
  | { ok: false; failure: string };

/** The role the person's transitive groups give them under the organization's mappings. */
export async function decideRoleFromDirectory(
  db: Db,
  config: Config,
  connection: TenantConnection,
  oid: string,
  now: number,
): Promise<GroupRoleOutcome> {
  try {
    const [groups, mappings] = await Promise.all([
      withOrganizationGraph(db, config, connection.organizationId, (graph) => readTransitiveGroups(graph, oid), GRAPH_BUDGETS.signInRoles),
      listMappings(db, connection.organizationId),
    ]);
    return { ok: true, decision: resolveRoleFromGroups(groups, mappings, connection.defaultRole), graphReadAt: now };
  } catch (error) {
    if (error instanceof GraphError) return { ok: false, failure: error.kind };
    if (error instanceof ConnectionTokenError) return { ok: false, failure: error.kind };
    throw error;
  }
}

/**
 * The writes that apply a group decision to an existing member: role change (never an Owner's),
 * audit with the deciding group, and the "why this role" record. A Graph failure keeps the role
 * and is recorded.
 */
export function applyGroupRole(
  db: Db,
  member: { organizationId: string; userId: string; role: Role },
  outcome: GroupRoleOutcome,
  now: number,
): Write[] {
  const statements: Write[] = [];
  if (!outcome.ok) {
    statements.push(
      saveRoleDecision(db, { ...member, rule: "graph_failed", matchedGroups: [], decidingGroup: null, graphReadAt: null, now }),
      insertAuditEvent(db, {
        organizationId: member.organizationId,
        actorUserId: null,
        action: "entra.role_mapping_failed",
        targetUserId: member.userId,
        details: { reason: outcome.failure, keptRole: member.role },
        now,
      }),
    );
    return statements;
  }
  const { decision } = outcome;
  const ownerKept = member.role === "owner";
  const role: Role = ownerKept ? "owner" : decision.role;
  statements.push(
    saveRoleDecision(db, {
      ...member,
      role,
      rule: ownerKept ? "owner_kept" : decision.rule,
      matchedGroups: decision.matched,
      decidingGroup: decision.decidingGroup,
      graphReadAt: outcome.graphReadAt,
      now,
    }),
  );
  if (!ownerKept && role !== member.role) {
    statements.push(
      updateMappedRole(db, { organizationId: member.organizationId, userId: member.userId, from: member.role, to: role }),
      insertAuditEvent(db, {
        organizationId: member.organizationId,
        actorUserId: null,
        action: "entra.role_mapped",
        targetUserId: member.userId,
        details: {
          from: member.role,
          to: role,
          group: decision.decidingGroup?.name ?? null,
          groupId: decision.decidingGroup?.id ?? null,
          rule: decision.rule,
        },
        now,
      }),
    );
  }
  return statements;
}

/** The role a newly provisioned member starts with. */
export function initialRole(connection: TenantConnection, outcome: GroupRoleOutcome | null): MappableRole {
  return outcome?.ok ? outcome.decision.role : connection.defaultRole;
}
