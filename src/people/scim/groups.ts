// /Groups: the organization's SCIM groups and their members (src/db/scimGroups.ts). A change to a
// group's members decides their roles again in the same batch (src/db/scimRoles.ts: the group →
// role mapping, which lists SCIM groups).
//
// Filters: displayName, externalId, id, meta.* and `members[value eq "…"]` / `members.value eq "…"`
// are SQL; others are evaluated over at most CANDIDATE_LIMIT groups without their members, so a
// filter on members in any other form is refused with `invalidFilter`.
// Members: POST and PUT refuse an id that is no User of the organization (`invalidValue`); a PATCH
// skips such ids (its plan is made after the read), as a retried removal would.
import { sql } from "drizzle-orm";
import { filterSql, GROUP_COLUMNS } from "../../db/scimFilter.ts";
import { pageTotal } from "../../db/scimUsers.ts";
import {
  deleteGroup,
  groupById,
  groupCandidates,
  groupPage,
  insertGroup,
  knownUsers,
  memberChangeStatements,
  updateGroup,
  type ScimGroupRow,
} from "../../db/scimGroups.ts";
import { decideMarkedRoles, markMembersOf } from "../../db/scimRoles.ts";
import type { Statement } from "../../db/statements.ts";
import { ScimError } from "../../scim/errors.ts";
import type { Filter } from "../../scim/filter.ts";
import { planGroupPatch } from "../../scim/groupPatch.ts";
import { parseListQuery } from "../../scim/list.ts";
import { parseProjection } from "../../scim/projection.ts";
import { groupResource, parseGroupBody, type MemberOutput, type ScimGroup } from "../../scim/resources.ts";
import { GROUP_SCHEMA } from "../../scim/schema.ts";
import { filteredPage, listReply, scimCall, type ScimReply, type ScimRequest } from "./call.ts";
import { CANDIDATE_LIMIT } from "./users.ts";

const iso = (ms: number) => new Date(ms).toISOString();

function groupOut(request: ScimRequest, row: ScimGroupRow, members?: MemberOutput[]) {
  const group: ScimGroup = { displayName: row.displayName, ...(row.externalId ? { externalId: row.externalId } : {}) };
  return groupResource(
    group,
    {
      id: row.id,
      created: iso(row.createdAt),
      lastModified: iso(row.updatedAt),
      location: `${request.baseUrl}/Groups/${row.id}`,
    },
    members,
  );
}

function membersOf(request: ScimRequest, row: ScimGroupRow): MemberOutput[] | undefined {
  if (row.members === undefined) return undefined;
  const pairs = JSON.parse(row.members ?? "[]") as [string, string][];
  return pairs.map(([value, display]) => ({ value, display, $ref: `${request.baseUrl}/Users/${value}` }));
}

function namesMembers(filter: Filter): boolean {
  switch (filter.op) {
    case "and":
    case "or":
      return filter.filters.some(namesMembers);
    case "not":
      return namesMembers(filter.filter);
    default:
      return filter.attribute.attribute === "members";
  }
}

const notFound = (id: string) => ScimError.notFound(`No Group has the id "${id}".`);

// The request log's words (the settings page): what changed, with the group's name, never a body or an id list.
const short = (name: string) => name.slice(0, 80);
const count = (n: number) => (n === 1 ? "1 member" : `${n} members`);

function patchOutcome(before: string, after: string, change: { replaceAll: boolean; add: readonly string[]; remove: readonly string[] }) {
  const parts: string[] = [];
  if (before !== after) parts.push(`renamed ${short(before)} to ${short(after)}`);
  if (change.replaceAll) parts.push(`set the members of ${short(after)} to ${count(change.add.length)}`);
  else if (change.add.length) parts.push(`added ${count(change.add.length)} to ${short(after)}`);
  if (change.remove.length) parts.push(`removed ${count(change.remove.length)} from ${short(after)}`);
  return parts.length ? parts.join("; ") : `no change to ${short(after)}`;
}

/**
 * A change to group `groupId`'s members with the roles following it: the members before the
 * change and after it are marked, and their mapped roles decided in the same batch.
 */
function rolesFollow(request: ScimRequest, organizationId: string, groupId: string, change: Statement[]): Statement[] {
  const { db, now } = request;
  return [
    markMembersOf(db, organizationId, groupId),
    ...change,
    markMembersOf(db, organizationId, groupId),
    ...decideMarkedRoles(db, { organizationId, now }),
  ];
}

function unknownIds(results: D1Result[], ids: readonly string[]): string[] {
  const known = new Set(results.flatMap((result) => (result.results as { userId: string }[]).map((row) => row.userId)));
  return ids.filter((id) => !known.has(id));
}

export function listGroups(request: ScimRequest, params: URLSearchParams): Promise<ScimReply> {
  const query = parseListQuery(params, "Group");
  const withMembers = query.projection.includes("members");
  const where = query.filter ? filterSql(query.filter, GROUP_COLUMNS) : sql`1`;
  if (!where && namesMembers(query.filter!)) {
    throw ScimError.invalidFilter('Filter Group members as members[value eq "<User id>"] (or several joined by "or").');
  }
  return scimCall(
    request,
    (org) =>
      where
        ? groupPage(request.db, org, where, { offset: query.startIndex - 1, limit: query.count, withMembers })
        : [groupCandidates(request.db, org, CANDIDATE_LIMIT + 1)],
    (results) => {
      const rows = results[0]!.results as unknown as ScimGroupRow[];
      if (where) {
        return listReply(query, {
          resources: rows.map((row) => groupOut(request, row, membersOf(request, row))),
          total: pageTotal(results),
        });
      }
      if (rows.length > CANDIDATE_LIMIT)
        throw ScimError.tooMany(
          `This filter is evaluated over at most ${CANDIDATE_LIMIT} Groups. Filter on displayName, externalId or id instead.`,
        );
      return listReply(
        query,
        filteredPage(
          rows.map((row) => groupOut(request, row)),
          query,
          GROUP_SCHEMA,
        ),
      );
    },
  );
}

export function getGroup(request: ScimRequest, id: string, params: URLSearchParams): Promise<ScimReply> {
  const projection = parseProjection(
    { attributes: params.get("attributes"), excludedAttributes: params.get("excludedAttributes") },
    "Group",
  );
  const withMembers = projection.includes("members");
  return scimCall(
    request,
    (org) => [groupById(request.db, org, id, withMembers)],
    (results) => {
      const row = results[0]!.results[0] as ScimGroupRow | undefined;
      if (!row) throw notFound(id);
      return {
        reply: { status: 200, body: projection.apply(groupOut(request, row, membersOf(request, row)) as never) },
        writes: [],
        outcome: null,
      };
    },
  );
}

export function createGroup(request: ScimRequest, body: unknown): Promise<ScimReply> {
  const { group, members } = parseGroupBody(body);
  const { db, now } = request;
  return scimCall(
    request,
    (org) => knownUsers(db, org, members),
    (results, organizationId) => {
      const unknown = unknownIds(results, members);
      if (unknown.length > 0) throw ScimError.invalidValue(`No User has the id "${unknown[0]}".`);
      const id = crypto.randomUUID();
      const stored = { id, organizationId, displayName: group.displayName, externalId: group.externalId ?? null, now };
      const row: ScimGroupRow = { id, displayName: group.displayName, externalId: stored.externalId, createdAt: now, updatedAt: now };
      return {
        reply: {
          status: 201,
          body: groupOut(
            request,
            row,
            members.map((value) => ({ value, $ref: `${request.baseUrl}/Users/${value}` })),
          ),
          location: `${request.baseUrl}/Groups/${id}`,
        },
        writes: [
          insertGroup(db, stored),
          ...memberChangeStatements(db, { id, organizationId }, { replaceAll: false, add: members, remove: [] }),
          ...rolesFollow(request, organizationId, id, []),
        ],
        outcome: `created group ${short(group.displayName)}${members.length ? ` with ${count(members.length)}` : ""}`,
      };
    },
  );
}

export function replaceGroup(request: ScimRequest, id: string, body: unknown): Promise<ScimReply> {
  const { group, members } = parseGroupBody(body);
  const { db, now } = request;
  return scimCall(
    request,
    (org) => [groupById(db, org, id, false), ...knownUsers(db, org, members)],
    (results, organizationId) => {
      const [found, ...known] = results;
      const row = found!.results[0] as ScimGroupRow | undefined;
      if (!row) throw notFound(id);
      const unknown = unknownIds(known, members);
      if (unknown.length > 0) throw ScimError.invalidValue(`No User has the id "${unknown[0]}".`);
      const stored = { id, organizationId, displayName: group.displayName, externalId: group.externalId ?? null, now };
      return {
        reply: {
          status: 200,
          body: groupOut(
            request,
            { ...row, ...stored, updatedAt: now },
            members.map((value) => ({ value, $ref: `${request.baseUrl}/Users/${value}` })),
          ),
        },
        writes: rolesFollow(request, organizationId, id, [
          updateGroup(db, stored),
          ...memberChangeStatements(db, { id, organizationId }, { replaceAll: true, add: members, remove: [] }),
        ]),
        outcome: `replaced group ${short(group.displayName)}: ${count(members.length)}`,
      };
    },
  );
}

export function patchGroup(request: ScimRequest, id: string, body: unknown): Promise<ScimReply> {
  const { db, now } = request;
  return scimCall(
    request,
    (org) => [groupById(db, org, id, false)],
    (results, organizationId) => {
      const row = results[0]!.results[0] as ScimGroupRow | undefined;
      if (!row) throw notFound(id);
      const current: ScimGroup = { displayName: row.displayName, ...(row.externalId ? { externalId: row.externalId } : {}) };
      const plan = planGroupPatch(current, body);
      const stored = { id, organizationId, displayName: plan.group.displayName, externalId: plan.group.externalId ?? null, now };
      // Entra: "Update to the group PATCH request should yield an HTTP 204 No Content".
      return {
        reply: { status: 204 },
        writes: rolesFollow(request, organizationId, id, [
          updateGroup(db, stored),
          ...memberChangeStatements(db, { id, organizationId }, plan.members),
        ]),
        outcome: patchOutcome(row.displayName, plan.group.displayName, plan.members),
      };
    },
  );
}

export function removeGroup(request: ScimRequest, id: string): Promise<ScimReply> {
  return scimCall(
    request,
    (org) => [groupById(request.db, org, id, false)],
    (results, organizationId) => {
      const row = results[0]!.results[0] as ScimGroupRow | undefined;
      if (!row) throw notFound(id);
      const { db, now } = request;
      // The members lose what the group gave them: marked before it goes, decided after.
      const writes = [
        markMembersOf(db, organizationId, id),
        ...deleteGroup(db, organizationId, id),
        ...decideMarkedRoles(db, { organizationId, now }),
      ];
      return { reply: { status: 204 }, writes, outcome: `deleted group ${short(row.displayName)}` };
    },
  );
}
