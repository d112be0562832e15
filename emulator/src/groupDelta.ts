// GET /v1.0/groups/delta: groups, and their members as `members@delta`, without reading every
// group again. Microsoft's pages this follows (emulator/README.md, "Group delta"):
// - https://learn.microsoft.com/en-us/graph/api/group-delta (members@delta lists members added,
//   and members removed with "@removed": {"reason": "deleted"}; nested groups are members too,
//   as #microsoft.graph.group, never expanded)
// - https://learn.microsoft.com/en-us/graph/delta-query-groups (the initial round lists every
//   group with its members, a large group's members split over several entries of the same group;
//   later rounds list only the groups that changed, with only the members that changed)
// - https://learn.microsoft.com/en-us/graph/delta-query-overview ($deltatoken=latest: a delta
//   link for "now" with no resources; 410 syncStateNotFound when a token can no longer be used)
import { Hono } from "hono";
import { directory, membersFrom, type DirectoryGroup, type Tenant } from "./directory.ts";
import type { EmulatorContext } from "./env.ts";
import { graphError } from "./errors.ts";
import { contextUrl, GROUP_PROPERTIES, groupResource, linkWith, readQuery, readToken, takePage } from "./graphQuery.ts";
import { membershipChangesSince } from "./groupMembership.ts";
import { state } from "./state.ts";

/** Members per entry of the initial round: a larger group is listed again with the next slice. */
export const MEMBERS_PER_ENTRY = 500;

interface GroupDeltaCursor {
  g: string;
  mode: "full" | "changes";
  p: number;
  since: number;
  upto: number;
}

type Member = { "@odata.type": string; id: string; "@removed"?: { reason: "deleted" } };
type Entry = { group: DirectoryGroup; members: Member[] | undefined };

const asUser = (id: string): Member => ({ "@odata.type": "#microsoft.graph.user", id });
const asGroup = (id: string): Member => ({ "@odata.type": "#microsoft.graph.group", id });

/** The initial round: every group with its direct members (users, then nested groups), in slices. */
function* fullRound(tenant: Tenant): Generator<Entry> {
  for (const group of tenant.groups) {
    const members: Member[] = [];
    for (const { user } of membersFrom(tenant, new Set([group.id]), 0)) {
      members.push(asUser(user.id));
      if (members.length === MEMBERS_PER_ENTRY) yield { group, members: members.splice(0) };
    }
    for (const nested of tenant.groups) if (nested.memberOf.includes(group.id)) members.push(asGroup(nested.id));
    yield { group, members };
  }
}

/** A later round: groups added, renamed or whose members changed, each with only what changed. */
function* changesRound(tenant: Tenant, since: number, upto: number): Generator<Entry> {
  const byGroup = membershipChangesSince(tenant, since, upto);
  for (const group of tenant.groups) {
    const changes = byGroup.get(group.id);
    const touched = group.changedAt !== undefined && group.changedAt > since && group.changedAt <= upto;
    if (!changes && !touched) continue;
    const members = [...(changes?.values() ?? [])].map((c) => {
      const member = c.memberType === "user" ? asUser(c.memberId) : asGroup(c.memberId);
      return c.removed ? { ...member, "@removed": { reason: "deleted" as const } } : member;
    });
    yield { group, members };
  }
}

function* positions<T>(items: Iterable<T>, from: number): Generator<{ position: number; item: T }> {
  let position = 0;
  for (const item of items) {
    if (position >= from) yield { position, item };
    position++;
  }
}

type DeltaEnv = EmulatorContext & { Variables: { tenant: Tenant } };
export const groupDeltaRoutes = new Hono<DeltaEnv>();

groupDeltaRoutes.get("/v1.0/groups/delta", (c) => {
  const query = readQuery(c, "group", [...GROUP_PROPERTIES, "members"]);
  if (!query.ok) return query.response;
  const tenant = c.var.tenant;
  const withMembers = !query.select || query.select.includes("members");
  const select = query.select?.filter((p) => p !== "members");
  const deltaLink = (v: number) => linkWith(c, c.req.path, "$deltatoken", { g: state.deltaGeneration, t: tenant.id, v, k: "groups" });
  if (c.req.query("$deltatoken") === "latest") {
    return c.json({ "@odata.context": contextUrl(c, "groups", query.select), value: [], "@odata.deltaLink": deltaLink(directory.version) });
  }
  const skip = readToken<GroupDeltaCursor>(c, "$skiptoken");
  const delta = readToken<{ g: string; t: string; v: number; k?: string }>(c, "$deltatoken");
  if (skip === "malformed" || delta === "malformed")
    return graphError(c, 400, "Request_BadRequest", "The specified page token value has expired or is invalid.");
  const stale =
    (skip && skip.g !== state.deltaGeneration) ||
    (delta && (delta.g !== state.deltaGeneration || delta.t !== tenant.id || delta.k !== "groups"));
  if (stale) {
    c.header("Location", linkWith(c, c.req.path, undefined, undefined));
    return graphError(
      c,
      410,
      "syncStateNotFound",
      "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    );
  }
  const cursor: GroupDeltaCursor =
    skip ??
    (delta
      ? { g: state.deltaGeneration, mode: "changes", p: 0, since: delta.v, upto: directory.version }
      : { g: state.deltaGeneration, mode: "full", p: 0, since: 0, upto: directory.version });
  const round = cursor.mode === "full" ? fullRound(tenant) : changesRound(tenant, cursor.since, cursor.upto);
  const { page, next } = takePage(positions(round, cursor.p), query.top);
  const value = page.map(({ group, members }) => ({
    ...groupResource(group, select && select.length > 0 ? select : query.select ? ["id"] : undefined),
    ...(withMembers && members ? { "members@delta": members } : {}),
  }));
  const link =
    next !== undefined
      ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { ...cursor, p: next }) }
      : { "@odata.deltaLink": deltaLink(cursor.upto) };
  return c.json({ "@odata.context": contextUrl(c, "groups", query.select), value, ...link });
});
