// What the directory says at a Microsoft sign-in: whether a person without an account may be
// provisioned, and which role their groups give them. Graph is read with the organization's
// delegated token; a Graph failure never blocks a sign-in that is otherwise allowed.
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import type { Write } from "../db/statements.ts";
import type { ConnectionTokens, TenantConnection } from "../db/connections.ts";
import { saveRoleDecision } from "../db/mappings.ts";
import { parseScopeList } from "../db/syncScope.ts";
import { memberUserRow, updateMappedRole } from "../db/members.ts";
import { insertEventsFor, MEMBER_OF_U } from "../db/outbox.ts";
import type { MappableRole, Role } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import {
  isDirectoryGuest,
  isProvisionableMember,
  readDirectoryUser,
  readTransitiveGroups,
  readUserAndGroups,
  type BatchedRead,
  type DirectoryUser,
} from "./directory.ts";
import { GRAPH_BUDGETS, GraphError, createGraphClient, type GraphBudget } from "./graph.ts";
import { resolveRoleFromGroups, type DirectoryGroup, type GroupMapping, type RoleDecision } from "../people/groupRoles.ts";
import { ConnectionTokenError, accessTokenFromRow } from "./tokens.ts";

type ProvisioningVerdict =
  | { ok: true }
  | {
      ok: false;
      reason: "guest" | "outside_verified_domains" | "outside_scope" | "disabled" | "directory_unavailable" | "connection_needs_reconnect";
    };

type GroupRoleOutcome = { ok: true; decision: RoleDecision; graphReadAt: number } | { ok: false; failure: string };

/** What the directory said at this sign-in, and the token writes it cost (for the caller's one write batch). */
export interface SignInDirectory {
  /** Asked for with `user`: may this person get an account without an invitation? */
  verdict?: ProvisioningVerdict;
  /** Asked for with `groups`: the role the person's groups give them. */
  roles?: GroupRoleOutcome;
  /** A refreshed token pair, or "needs reconnect": not yet run. */
  writes: Write[];
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: GraphError | ConnectionTokenError };

/**
 * Reads what a Microsoft sign-in needs from the directory in one Graph round trip: the user (for
 * auto-provisioning) and their transitive groups (for group mapping) in one JSON $batch, or the
 * one of them that is needed as a plain GET. The connection's token row and mappings come from
 * the caller's read batch, so this reads nothing from D1. A 401 gets one forced token refresh and
 * a second round trip; a throttled or failing part gets its own retries within its budget (the
 * user read as any sign-in read, the groups a try more, since a failure there only keeps a role).
 */
export async function readSignInDirectory(
  db: Db,
  config: Config,
  connection: TenantConnection,
  tokens: ConnectionTokens | undefined,
  mappings: readonly GroupMapping[],
  oid: string,
  want: { user: boolean; groups: boolean },
  now: number,
): Promise<SignInDirectory> {
  const writes: Write[] = [];
  let parts: { user?: Outcome<DirectoryUser>; groups?: Outcome<DirectoryGroup[]> };
  try {
    const first = await accessTokenFromRow(db, config, connection.organizationId, tokens, { now });
    writes.push(...first.writes);
    try {
      parts = await readParts(config, first.accessToken, oid, want);
    } catch (error) {
      if (!(error instanceof GraphError) || error.kind !== "unauthorized") throw error;
      // Graph refused a token we thought valid (revoked early): one forced refresh, one more try.
      const again = await accessTokenFromRow(db, config, connection.organizationId, tokens, { forceRefresh: true, now });
      writes.push(...again.writes);
      parts = await readParts(config, again.accessToken, oid, want);
    }
  } catch (error) {
    if (!(error instanceof GraphError) && !(error instanceof ConnectionTokenError)) throw error;
    if (error instanceof ConnectionTokenError) writes.push(...error.writes);
    const failed = { ok: false as const, error };
    parts = { ...(want.user ? { user: failed } : {}), ...(want.groups ? { groups: failed } : {}) };
  }
  return {
    ...(parts.user ? { verdict: provisioningVerdict(parts.user, parts.groups, connection) } : {}),
    ...(parts.groups ? { roles: groupRoleOutcome(parts.groups, mappings, connection.defaultRole, now) } : {}),
    writes,
  };
}

async function readParts(config: Config, accessToken: string, oid: string, want: { user: boolean; groups: boolean }) {
  const client = (budget: GraphBudget) => createGraphClient(config, { accessToken, ...budget });
  if (want.user && want.groups) {
    let batch: { user: BatchedRead<DirectoryUser>; groups: BatchedRead<DirectoryGroup[]> };
    try {
      // No retry of the whole batch: each part is retried on its own, within its own budget.
      batch = await readUserAndGroups(client({ maxAttempts: 1, maxWaitMs: 0 }), oid);
    } catch (error) {
      if (!(error instanceof GraphError) || error.kind === "unauthorized") throw error;
      const failed = { ok: false as const, error, retryable: error.kind === "throttled" || error.kind === "unavailable", waitMs: null };
      batch = { user: failed, groups: failed };
    }
    const [user, groups] = await Promise.all([
      retryPart(batch.user, GRAPH_BUDGETS.signIn, (budget) => readDirectoryUser(client(budget), oid)),
      retryPart(batch.groups, GRAPH_BUDGETS.signInRoles, (budget) => readTransitiveGroups(client(budget), oid)),
    ]);
    return { user, groups };
  }
  if (want.user) return { user: await settle(() => readDirectoryUser(client(GRAPH_BUDGETS.signIn), oid)) };
  if (want.groups) return { groups: await settle(() => readTransitiveGroups(client(GRAPH_BUDGETS.signInRoles), oid)) };
  return {};
}

/** A part the batch could not answer, tried again on its own with what is left of its budget. */
async function retryPart<T>(part: BatchedRead<T>, budget: GraphBudget, read: (budget: GraphBudget) => Promise<T>): Promise<Outcome<T>> {
  if (part.ok) return part;
  const wait = part.waitMs ?? 500;
  if (!part.retryable || budget.maxAttempts < 2 || wait > budget.maxWaitMs) return { ok: false, error: part.error };
  await new Promise((resolve) => setTimeout(resolve, wait));
  return settle(() => read({ maxAttempts: budget.maxAttempts - 1, maxWaitMs: budget.maxWaitMs }));
}

async function settle<T>(read: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    if (error instanceof GraphError && error.kind !== "unauthorized") return { ok: false, error };
    throw error;
  }
}

/**
 * May this person get an account without an invitation? Only a member (not a guest) of the
 * connected tenant, enabled, whose UPN is in a verified domain — as Graph reports it, never the
 * email claims of the ID token.
 */
function provisioningVerdict(
  user: Outcome<DirectoryUser>,
  groups: Outcome<DirectoryGroup[]> | undefined,
  connection: TenantConnection,
): ProvisioningVerdict {
  if (!user.ok) {
    const { error } = user;
    // The grant died at this very sign-in (invalid_grant): the connection is now "needs reconnect".
    if (error instanceof ConnectionTokenError && (error.kind === "needs_reconnect" || error.kind === "unreadable")) {
      return { ok: false, reason: "connection_needs_reconnect" };
    }
    return { ok: false, reason: "directory_unavailable" };
  }
  if (isDirectoryGuest(user.value)) return { ok: false, reason: "guest" };
  if (user.value.accountEnabled === false) return { ok: false, reason: "disabled" };
  if (!isProvisionableMember(user.value, connection.verifiedDomains ?? [])) return { ok: false, reason: "outside_verified_domains" };
  return inSyncScope(user.value, groups, connection);
}

/**
 * The sync scope (issue 20): the person's domain must be one the organization chose, and with
 * "Only members of these groups" one of their transitive groups (nested ones count) must be chosen.
 * The groups come from the same $batch as the user, so the scope costs no Graph round trip more.
 */
function inSyncScope(
  user: DirectoryUser,
  groups: Outcome<DirectoryGroup[]> | undefined,
  connection: TenantConnection,
): ProvisioningVerdict {
  const scope = signInScope(connection);
  if (!isProvisionableMember(user, scope.domains)) return { ok: false, reason: "outside_scope" };
  if (scope.mode !== "groups") return { ok: true };
  if (!groups?.ok) return { ok: false, reason: "directory_unavailable" };
  const chosen = new Set(scope.groupIds);
  return groups.value.some((g) => chosen.has(g.id.toLowerCase())) ? { ok: true } : { ok: false, reason: "outside_scope" };
}

/** What of a connection read the scope is made of (src/db/syncScope.ts, scopeColumns): a run's settings carry it too. */
export type ScopeColumns = Pick<TenantConnection, "scopeMode" | "scopeDomains" | "scopeGroupIds" | "verifiedDomains">;

/** The scope as sign-in's connection read carries it (src/db/syncScope.ts, scopeColumns). */
export function signInScope(connection: ScopeColumns) {
  const domains = connection.scopeDomains === null ? (connection.verifiedDomains ?? []) : parseScopeList(connection.scopeDomains);
  return { mode: connection.scopeMode, domains, groupIds: parseScopeList(connection.scopeGroupIds).map((id) => id.toLowerCase()) };
}

/** The role the person's transitive groups give them under the organization's mappings. */
function groupRoleOutcome(
  groups: Outcome<DirectoryGroup[]>,
  mappings: readonly GroupMapping[],
  defaultRole: MappableRole,
  now: number,
): GroupRoleOutcome {
  if (!groups.ok) return { ok: false, failure: groups.error.kind };
  return { ok: true, decision: resolveRoleFromGroups(groups.value, mappings, defaultRole), graphReadAt: now };
}

/**
 * The writes that apply a group decision to an existing member: role change (never an Owner's),
 * audit with the deciding group, and the "why this role" record. A Graph failure keeps the role
 * and is recorded. The one rule for sign-in and for directory sync runs (src/entra/sync/groupRoles.ts,
 * which passes its `runId`).
 */
export function applyGroupRole(
  db: Db,
  member: { organizationId: string; userId: string; role: Role },
  outcome: GroupRoleOutcome,
  now: number,
  runId: string | null = null,
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
          ...(runId ? { runId } : {}),
        },
        now,
      }),
      insertEventsFor(
        "member.role_changed",
        {
          organizationId: member.organizationId,
          now,
          data: {
            organization_id: member.organizationId,
            member: MEMBER_OF_U,
            from_role: member.role,
            to_role: role,
            cause: "mapping",
            run_id: runId,
            actor_user_id: null,
            deciding_group: decision.decidingGroup,
          },
        },
        memberUserRow(member.userId),
      ),
    );
  }
  return statements;
}

/** The role a newly provisioned member starts with. */
export function initialRole(connection: TenantConnection, outcome: GroupRoleOutcome | null): MappableRole {
  return outcome?.ok ? outcome.decision.role : connection.defaultRole;
}
