// Reading the directory through Graph: users, groups and memberships, with the shapes we rely on
// validated (a reply of the wrong shape is a GraphError "bad_response", never trusted).
import { z } from "zod";
import { displayText } from "../lib/schemas.ts";
import { GraphError, batchPartFailure, batchReplySchema, type BatchPart, type GraphClient } from "./graph.ts";
import type { DirectoryGroup } from "../people/groupRoles.ts";

const PAGE_SIZE = 999;

// Exported with the $select below so that every reader of directory users (joiners.ts too) checks
// the same fields: one place to add a field to the read and to its check.
export const directoryUserSchema = z.object({
  id: z.string().min(1).max(64),
  displayName: displayText(256).nullable().optional(),
  userPrincipalName: z.string().max(1024).nullable().optional(),
  mail: z.string().max(320).nullable().optional(),
  userType: z.string().max(32).nullable().optional(),
  accountEnabled: z.boolean().nullable().optional(),
});
export type DirectoryUser = z.infer<typeof directoryUserSchema>;

/** The $select for every user read, matching directoryUserSchema. */
export const USER_FIELDS = "id,displayName,userPrincipalName,mail,userType,accountEnabled";

export const groupSchema = z.object({ id: z.string().min(1).max(64), displayName: displayText(256).nullable().optional() });

/** One user by object id. */
export function readDirectoryUser(graph: GraphClient, oid: string): Promise<DirectoryUser> {
  return graph.get(`/v1.0/users/${encodeURIComponent(oid)}?$select=${USER_FIELDS}`, directoryUserSchema);
}

/** Every group the user is in, nested groups included (all pages). */
export async function readTransitiveGroups(graph: GraphClient, oid: string): Promise<DirectoryGroup[]> {
  const groups: DirectoryGroup[] = [];
  const path = `/v1.0/users/${encodeURIComponent(oid)}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=${PAGE_SIZE}`;
  for await (const page of graph.pages(path, groupSchema)) {
    for (const group of page.values) groups.push({ id: group.id, displayName: group.displayName ?? null });
  }
  return groups;
}

/** A part of a batched read: its value, or why it failed and whether another try may help. */
export type BatchedRead<T> = { ok: true; value: T } | { ok: false; error: GraphError; retryable: boolean; waitMs: number | null };

/**
 * A user and their transitive groups in one Graph round trip (JSON $batch). The first page of
 * groups comes back in the batch; only a person in more than 999 groups costs more round trips
 * (the nextLinks, followed on Graph's origin). A 401 in either part is thrown (the token is the
 * same for both), so the caller can refresh it; any other failure is that part's result.
 * `graph` should not retry: a throttled part is retried on its own by the caller.
 */
export async function readUserAndGroups(
  graph: GraphClient,
  oid: string,
): Promise<{ user: BatchedRead<DirectoryUser>; groups: BatchedRead<DirectoryGroup[]> }> {
  const id = encodeURIComponent(oid);
  const reply = await graph.post(
    "/v1.0/$batch",
    {
      requests: [
        { id: "user", method: "GET", url: `/users/${id}?$select=${USER_FIELDS}` },
        {
          id: "groups",
          method: "GET",
          url: `/users/${id}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=${PAGE_SIZE}`,
        },
      ],
    },
    batchReplySchema,
  );
  const part = (name: string): BatchPart =>
    reply.responses.find((r) => r.id === name) ?? { id: name, status: 502, headers: null, body: null };
  const userPart = part("user");
  const groupsPart = part("groups");
  for (const p of [userPart, groupsPart]) {
    if (p.status === 401) throw batchPartFailure(p).error;
  }

  let user: BatchedRead<DirectoryUser>;
  if (userPart.status === 200) {
    const parsed = directoryUserSchema.safeParse(userPart.body);
    user = parsed.success ? { ok: true, value: parsed.data } : badResponse(parsed.error);
  } else {
    user = { ok: false, ...batchPartFailure(userPart) };
  }

  let groups: BatchedRead<DirectoryGroup[]>;
  if (groupsPart.status === 200) {
    const parsed = groupPageSchema.safeParse(groupsPart.body);
    if (!parsed.success) {
      groups = badResponse(parsed.error);
    } else {
      const values: DirectoryGroup[] = parsed.data.value.map((g) => ({ id: g.id, displayName: g.displayName ?? null }));
      const next = parsed.data["@odata.nextLink"];
      try {
        if (next) {
          for await (const page of graph.pages(next, groupSchema)) {
            for (const g of page.values) values.push({ id: g.id, displayName: g.displayName ?? null });
          }
        }
        groups = { ok: true, value: values };
      } catch (error) {
        if (!(error instanceof GraphError)) throw error;
        if (error.kind === "unauthorized") throw error;
        groups = { ok: false, error, retryable: false, waitMs: null };
      }
    }
  } else {
    groups = { ok: false, ...batchPartFailure(groupsPart) };
  }
  return { user, groups };
}

const groupPageSchema = z.object({ value: z.array(groupSchema), "@odata.nextLink": z.string().optional() });

function badResponse(cause: unknown): BatchedRead<never> {
  return { ok: false, error: new GraphError("bad_response", { status: 200, cause }), retryable: false, waitMs: null };
}

/** One group by object id; a group that is not in the directory is a GraphError "not_found". */
export async function readGroup(graph: GraphClient, groupId: string): Promise<DirectoryGroup> {
  const group = await graph.get(`/v1.0/groups/${encodeURIComponent(groupId)}?$select=id,displayName`, groupSchema);
  return { id: group.id, displayName: group.displayName ?? null };
}

/** Groups whose name starts with `text` (Graph's `startswith`), for the mapping editor. */
export async function searchGroups(graph: GraphClient, text: string, limit = 20): Promise<DirectoryGroup[]> {
  const escaped = text.replaceAll("'", "''");
  const path = `/v1.0/groups?$filter=${encodeURIComponent(`startswith(displayName,'${escaped}')`)}&$select=id,displayName&$top=${limit}`;
  const reply = await graph.get(path, z.object({ value: z.array(groupSchema) }));
  return reply.value.map((g) => ({ id: g.id, displayName: g.displayName ?? null }));
}

/** The first page of the directory's users (https://learn.microsoft.com/en-us/graph/api/user-list, 999 a page at most). */
export const DIRECTORY_USERS_PATH = `/v1.0/users?$select=${USER_FIELDS}&$top=${PAGE_SIZE}`;

/**
 * The first page of a group's users, nested groups expanded
 * (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers, 999 a page at most).
 */
export const groupMembersPath = (groupId: string) =>
  `/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=${USER_FIELDS}&$top=${PAGE_SIZE}`;

const userPageSchema = z.object({ value: z.array(directoryUserSchema), "@odata.nextLink": z.string().optional() });

/**
 * One page of users from `pathOrLink` (a first page's path, or a nextLink), for a reader that keeps
 * its place between Workflow steps. The next link must stay on Graph's origin: checked before it is kept.
 */
export async function readUserPage(graph: GraphClient, pathOrLink: string): Promise<{ users: DirectoryUser[]; nextLink: string | null }> {
  const page = await graph.get(pathOrLink, userPageSchema);
  const nextLink = page["@odata.nextLink"] ?? null;
  if (nextLink) graph.resolve(nextLink);
  return { users: page.value, nextLink };
}

/**
 * The one guest rule, for sign-in and import alike: anyone Graph does not report as a "Member"
 * (a "Guest", or no userType at all: Graph returns it only when selected, and its absence is no
 * evidence of membership), and any B2B account whose UPN carries "#ext#".
 */
export function isDirectoryGuest(user: DirectoryUser): boolean {
  return user.userType !== "Member" || (user.userPrincipalName?.toLowerCase().includes("#ext#") ?? false);
}

/** A member (not a guest) whose sign-in name is in one of the tenant's verified domains. */
export function isProvisionableMember(user: DirectoryUser, verifiedDomains: readonly string[]): boolean {
  if (isDirectoryGuest(user)) return false;
  const upn = user.userPrincipalName?.toLowerCase() ?? "";
  const at = upn.lastIndexOf("@");
  if (at < 1) return false;
  return verifiedDomains.map((d) => d.toLowerCase()).includes(upn.slice(at + 1));
}
