// /Users: what a provider's request does to the organization's people (src/db/scimUsers.ts has the
// rules, written under their own guards).
//
// Filters: comparisons on userName, externalId, id, active and meta.created/lastModified (with
// and/or/not) are SQL over scim_users' indexes (userName eq, externalId eq, id eq read one row).
// Any other filter (emails[type eq "work"].value eq …, name.familyName sw …) is evaluated with
// matchesFilter over the organization's Users when there are at most CANDIDATE_LIMIT of them, and
// refused with `tooMany` beyond that, saying which filters work at any size.
import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import { filterSql, findsOne, USER_COLUMNS } from "../../db/scimFilter.ts";
import {
  deleteScimUser,
  insertScimUser,
  memberByEmail,
  newMemberStatements,
  scimDeactivateStatements,
  scimReactivateStatements,
  updatePersonStatement,
  updateScimUser,
  userById,
  userCandidates,
  userPage,
  pageTotal,
  type MemberStanding,
  type ScimUserRow,
} from "../../db/scimUsers.ts";
import { defaultRoleOf, defaultRoleRead } from "../../db/scimRoles.ts";
import { burstOf, burstRead, deprovisionStatements, mustHold, releaseHeld, type Burst } from "../../db/scimHolds.ts";
import type { Statement } from "../../db/statements.ts";
import { ScimError } from "../../scim/errors.ts";
import { parseListQuery } from "../../scim/list.ts";
import { applyUserPatch } from "../../scim/patch.ts";
import { parseProjection } from "../../scim/projection.ts";
import { isActive, parseUserBody, userResource, type ScimUser } from "../../scim/resources.ts";
import { USER_SCHEMA } from "../../scim/schema.ts";
import { filteredPage, listReply, scimCall, type Decision, type ScimReply, type ScimRequest } from "./call.ts";

/** The most Users a filter without an index may be evaluated over. */
export const CANDIDATE_LIMIT = 1000;

const iso = (ms: number) => new Date(ms).toISOString();

function userOut(request: ScimRequest, row: Pick<ScimUserRow, "userId" | "resource" | "createdAt" | "updatedAt">) {
  const user = JSON.parse(row.resource) as ScimUser;
  return userResource(user, {
    id: row.userId,
    created: iso(row.createdAt),
    lastModified: iso(row.updatedAt),
    location: `${request.baseUrl}/Users/${row.userId}`,
  });
}

/** The address UniAsset knows the person by: the primary email, else the work one, else the first, else a userName that is one. */
export function emailOf(user: ScimUser): string | null {
  const emails = (user.emails ?? []).filter((entry) => entry.value);
  const chosen = emails.find((entry) => entry.primary) ?? emails.find((entry) => entry.type?.toLowerCase() === "work") ?? emails[0];
  const address = chosen?.value ?? (user.userName.includes("@") ? user.userName : null);
  return address ? address.trim().slice(0, 320) : null;
}

/** The name shown in UniAsset: displayName, else the formatted or given and family name, else userName. */
export function displayNameOf(user: ScimUser): string {
  const joined = [user.name?.givenName, user.name?.familyName].filter(Boolean).join(" ");
  return (user.displayName || user.name?.formatted || joined || user.userName).trim().slice(0, 256);
}

type Activation = { writes: Statement[]; change: "reactivated" | "deactivated" | "held" | "still held" | "released" | null };

/**
 * The membership writes that make the member's standing follow `active`, and what changed. A
 * deactivation past the burst threshold is held for an Owner's or Admin's Apply instead
 * (src/db/scimHolds.ts says why); `active: true` for a held User releases the hold.
 */
function activation(
  request: ScimRequest,
  organizationId: string,
  userId: string,
  standing: (MemberStanding & { held?: number }) | undefined,
  active: boolean,
  burst: Burst,
): Activation {
  const { db, now } = request;
  const change = { organizationId, userId, now };
  if (!standing?.status) return { writes: [], change: null };
  if (active && standing.held) return { writes: [releaseHeld(db, organizationId, userId)], change: "released" };
  if (active && standing.status === "deactivated" && standing.reason === "scim") {
    return { writes: scimReactivateStatements(db, change), change: "reactivated" };
  }
  if (!active && standing.status === "active") {
    if (standing.role === "owner" && !standing.anotherOwner) {
      throw ScimError.mutability(
        "This User is the organization's last active Owner in UniAsset and cannot be deactivated. Make someone else an Owner first.",
      );
    }
    if (standing.held) return { writes: [], change: "still held" };
    // The read predicts which (for the log); the batch decides again in SQL (src/db/scimHolds.ts).
    const writes = deprovisionStatements(db, change, (onlyIf) => scimDeactivateStatements(db, change, onlyIf));
    return { writes, change: mustHold(burst) ? "held" : "deactivated" };
  }
  return { writes: [], change: null };
}

/** The request log's line on what a User request changed: a verb and the person's name (never a body). */
function said(change: Activation["change"], name: string, otherwise: string): string {
  const who = name.slice(0, 80);
  switch (change) {
    case "deactivated":
      return `deactivated ${who}`;
    case "reactivated":
      return `reactivated ${who}`;
    case "held":
      return `held the deactivation of ${who} (over the threshold)`;
    case "still held":
      return `deactivation of ${who} still held`;
    case "released":
      return `kept ${who} active: hold released`;
    case null:
      return `${otherwise} ${who}`;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The Microsoft Entra object id the provider sent, or null: an `externalId` that is a GUID. Entra's
 * provisioning maps `objectId` to `externalId`
 * (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
 * other providers' ids are not GUIDs (Okta `00u…`, JumpCloud 24 hex digits), and one that happened
 * to be could still only match the Entra account that has it (src/signin/scimLink.ts).
 */
export function entraObjectIdOf(user: ScimUser): string | null {
  return user.externalId && GUID.test(user.externalId) ? user.externalId.toLowerCase() : null;
}

function stored(organizationId: string, userId: string, user: ScimUser, now: number) {
  return {
    organizationId,
    userId,
    userName: user.userName,
    externalId: user.externalId ?? null,
    active: isActive(user),
    resource: JSON.stringify(user),
    now,
    emailKey: emailOf(user)?.toLowerCase() ?? null,
    entraObjectId: entraObjectIdOf(user),
  };
}

const notFound = (id: string) => ScimError.notFound(`No User has the id "${id}".`);

export function listUsers(request: ScimRequest, params: URLSearchParams): Promise<ScimReply> {
  const query = parseListQuery(params, "User");
  const where = query.filter ? filterSql(query.filter, USER_COLUMNS) : sql`1`;
  return scimCall(
    request,
    (org: SQL) =>
      where
        ? userPage(request.db, org, where, {
            offset: query.startIndex - 1,
            limit: query.count,
            unique: !!query.filter && findsOne(query.filter, USER_COLUMNS),
          })
        : [userCandidates(request.db, org, CANDIDATE_LIMIT + 1)],
    (results): Decision => {
      const rows = results[0]!.results as unknown as ScimUserRow[];
      if (where) return listReply(query, { resources: rows.map((row) => userOut(request, row)), total: pageTotal(results) });
      if (rows.length > CANDIDATE_LIMIT) {
        throw ScimError.tooMany(
          `This filter is evaluated over at most ${CANDIDATE_LIMIT} Users. Filter on userName, externalId, id, active or meta.lastModified instead.`,
        );
      }
      return listReply(
        query,
        filteredPage(
          rows.map((row) => userOut(request, row)),
          query,
          USER_SCHEMA,
        ),
      );
    },
  );
}

export function getUser(request: ScimRequest, id: string, params: URLSearchParams): Promise<ScimReply> {
  const projection = parseProjection(
    { attributes: params.get("attributes"), excludedAttributes: params.get("excludedAttributes") },
    "User",
  );
  return scimCall(
    request,
    (org) => [userById(request.db, org, id)],
    (results) => {
      const row = results[0]!.results[0] as ScimUserRow | undefined;
      if (!row) throw notFound(id);
      return { reply: { status: 200, body: projection.apply(userOut(request, row) as never) }, writes: [], outcome: null };
    },
  );
}

export function createUser(request: ScimRequest, body: unknown): Promise<ScimReply> {
  const { user } = parseUserBody(body);
  const email = emailOf(user);
  const active = isActive(user);
  const { db, now } = request;
  return scimCall(
    request,
    (org) => [defaultRoleRead(db, org), burstRead(db, org, "", now), ...(email ? [memberByEmail(db, org, email)] : [])],
    (results, organizationId) => {
      // Someone already a member with this email (the seeded people, those invited or imported) is
      // adopted rather than duplicated: same organization, so nothing crosses a tenant.
      const adopted = email
        ? (results[2]!.results[0] as (MemberStanding & { userId: string; linked: number; held: number }) | undefined)
        : undefined;
      if (adopted?.linked) throw ScimError.uniqueness(`A User with the email "${email}" already exists in this organization.`);
      const userId = adopted?.userId ?? crypto.randomUUID();
      const change: { writes: Statement[]; change: Activation["change"] } = adopted
        ? activation(request, organizationId, userId, adopted, active, burstOf(results[1]))
        : {
            writes: newMemberStatements(db, {
              organizationId,
              userId,
              email,
              displayName: displayNameOf(user),
              // A new User is in no group yet: the default role (src/db/scimRoles.ts).
              role: defaultRoleOf(results[0]),
              active,
              now,
            }),
            change: null,
          };
      const writes = [...change.writes, insertScimUser(db, { ...stored(organizationId, userId, user, now), ownsUser: !adopted })];
      const resource = userOut(request, { userId, resource: JSON.stringify(user), createdAt: now, updatedAt: now });
      return {
        reply: { status: 201, body: resource, location: `${request.baseUrl}/Users/${userId}` },
        writes,
        outcome: said(
          change.change,
          displayNameOf(user),
          adopted ? "linked the existing member" : active ? "created" : "created (inactive)",
        ),
      };
    },
  );
}

/** PUT and PATCH: the new User in place of the stored one, and the member following it. */
function replaceWith(request: ScimRequest, organizationId: string, row: StoredRow, user: ScimUser, burst: Burst): Decision {
  const { db, now } = request;
  const change = activation(request, organizationId, row.userId, row, isActive(user), burst);
  const writes = [updateScimUser(db, stored(organizationId, row.userId, user, now)), ...change.writes];
  if (row.ownsUser) writes.push(updatePersonStatement(db, row.userId, { email: emailOf(user), displayName: displayNameOf(user) }));
  const resource = userOut(request, { userId: row.userId, resource: JSON.stringify(user), createdAt: row.createdAt, updatedAt: now });
  return { reply: { status: 200, body: resource }, writes, outcome: said(change.change, displayNameOf(user), "updated") };
}

/** A request on one stored User and the member it provisions: 404 when the organization has no User with this id. */
type StoredRow = ScimUserRow & MemberStanding & { held: number };

function onStoredUser(
  request: ScimRequest,
  id: string,
  decide: (organizationId: string, row: StoredRow, burst: Burst) => Decision,
): Promise<ScimReply> {
  return scimCall(
    request,
    (org) => [userById(request.db, org, id), burstRead(request.db, org, id, request.now)],
    (results, organizationId) => {
      const row = results[0]!.results[0] as StoredRow | undefined;
      if (!row) throw notFound(id);
      return decide(organizationId, row, burstOf(results[1]));
    },
  );
}

export function replaceUser(request: ScimRequest, id: string, body: unknown): Promise<ScimReply> {
  const { user } = parseUserBody(body);
  return onStoredUser(request, id, (organizationId, row, burst) => replaceWith(request, organizationId, row, user, burst));
}

export function patchUser(request: ScimRequest, id: string, body: unknown): Promise<ScimReply> {
  return onStoredUser(request, id, (organizationId, row, burst) => {
    const { user } = applyUserPatch(JSON.parse(row.resource) as ScimUser, body);
    return replaceWith(request, organizationId, row, user, burst);
  });
}

export function deleteUser(request: ScimRequest, id: string): Promise<ScimReply> {
  return onStoredUser(request, id, (organizationId, row, burst) => {
    // DELETE deprovisions: the member stays in UniAsset, deactivated (or held), with their history.
    const change = activation(request, organizationId, row.userId, row, false, burst);
    const name = displayNameOf(JSON.parse(row.resource) as ScimUser);
    return {
      reply: { status: 204 },
      writes: [...change.writes, ...deleteScimUser(request.db, organizationId, row.userId)],
      outcome: `deleted the User; ${said(change.change, name, "no change to")}`,
    };
  });
}
