// Reading the directory through Graph: users, groups and memberships, with the shapes we rely on
// validated (a reply of the wrong shape is a GraphError "bad_response", never trusted).
import { z } from "zod";
import type { GraphClient } from "./graph.ts";
import type { DirectoryGroup } from "./groupRoles.ts";

const PAGE_SIZE = 999;

export const directoryUserSchema = z.object({
  id: z.string().min(1).max(64),
  displayName: z.string().max(256).nullable().optional(),
  userPrincipalName: z.string().max(1024).nullable().optional(),
  mail: z.string().max(320).nullable().optional(),
  userType: z.string().max(32).nullable().optional(),
  accountEnabled: z.boolean().nullable().optional(),
});
export type DirectoryUser = z.infer<typeof directoryUserSchema>;

/** The $select for every user read, matching directoryUserSchema. */
export const USER_FIELDS = "id,displayName,userPrincipalName,mail,userType,accountEnabled";

const groupSchema = z.object({ id: z.string().min(1).max(64), displayName: z.string().max(256).nullable().optional() });

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

/** All users of the directory, page by page (bulk import, sync). */
export function listDirectoryUsers(graph: GraphClient) {
  return graph.pages(`/v1.0/users?$select=${USER_FIELDS}&$top=${PAGE_SIZE}`, directoryUserSchema);
}

/** Users in a group, nested groups expanded, page by page (bulk import by group). */
export function listGroupMembers(graph: GraphClient, groupId: string) {
  return graph.pages(
    `/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=${USER_FIELDS}&$top=${PAGE_SIZE}`,
    directoryUserSchema,
  );
}

/** A member (not a guest) whose sign-in name is in one of the tenant's verified domains. */
export function isProvisionableMember(user: DirectoryUser, verifiedDomains: readonly string[]): boolean {
  if (user.userType !== "Member") return false;
  const upn = user.userPrincipalName?.toLowerCase() ?? "";
  const at = upn.lastIndexOf("@");
  if (at < 1 || upn.includes("#ext#")) return false;
  return verifiedDomains.map((d) => d.toLowerCase()).includes(upn.slice(at + 1));
}

/**
 * Directory roles that may grant tenant-wide admin consent (Entra role template ids): Global
 * Administrator, Privileged Role Administrator, Cloud Application Administrator, Application
 * Administrator. Only they may connect a tenant, even one that consented earlier.
 */
export const CONSENT_ADMIN_ROLE_TEMPLATES = new Set([
  "62e90394-69f5-4237-9190-012177145e10",
  "e8611ab8-c189-46e8-94e1-60213ab1f814",
  "158c047a-c907-4556-b7ef-446551a6b5f7",
  "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
]);

/** Whether the signed-in user (the token's) holds a role that may grant admin consent. */
export async function holdsConsentAdminRole(graph: GraphClient): Promise<boolean> {
  const roleSchema = z.object({ roleTemplateId: z.string().max(64).nullable().optional() });
  const path = "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=id,displayName,roleTemplateId";
  for await (const page of graph.pages(path, roleSchema)) {
    if (page.values.some((role) => role.roleTemplateId && CONSENT_ADMIN_ROLE_TEMPLATES.has(role.roleTemplateId))) return true;
  }
  return false;
}
