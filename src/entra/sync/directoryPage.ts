// One page of the tenant's users from Microsoft Graph, read and validated. A full run first asks
// the delta query for a link to "now" (`$deltatoken=latest`, one request, no users), then lists
// /users 999 a page following @odata.nextLink; the next run reads from that link only what changed
// since the listing began, so nothing that changes during a long listing is missed.
import { z } from "zod";
import type { GraphClient } from "../graph.ts";

/**
 * What the sync reads: the object id and whether the account is enabled (a delta round adds
 * `@removed` by itself), and the work profile it keeps for linked members (issue 19, profiles.ts):
 * name, mail and UPN, department, job title, office, employee id, employeeOrgData (cost center)
 * (https://learn.microsoft.com/en-us/graph/api/resources/user). A delta link keeps the $select it
 * was made with, so later rounds ask for the same. The manager is a relationship: /users lists it
 * only with $expand, delta tracks it when selected ("manager@delta",
 * https://learn.microsoft.com/en-us/graph/api/user-delta), so delta links select it and a full
 * listing leaves it to the next delta round.
 */
const SYNC_FIELDS = "id,accountEnabled,displayName,mail,userPrincipalName,department,jobTitle,officeLocation,employeeId,employeeOrgData";
export const FULL_LISTING_PATH = `/v1.0/users?$select=${SYNC_FIELDS}&$top=999`;
/** A delta link for the present moment, taken before a full listing. */
export const DELTA_FROM_NOW_PATH = `/v1.0/users/delta?$select=${SYNC_FIELDS},manager&$deltatoken=latest`;
/** Graph's delta query takes its page size from this header, not $top (/users ignores it). */
const PAGE_SIZE_HEADER = { Prefer: "odata.maxpagesize=999" };

/** A user as a delta round lists it: the directory's user, or one marked removed. */
// Profile values are untrusted text of any length: only their type is checked here, profiles.ts
// cleans and shortens them. Absent means "not in this entry" (a delta entry may list only what changed).
const text = z.string().max(100_000).nullable().optional();
const directoryUser = z.object({
  id: z.string().min(1).max(64),
  accountEnabled: z.boolean().nullable().optional(),
  "@removed": z.object({ reason: z.string().optional() }).optional(),
  displayName: text,
  mail: text,
  userPrincipalName: text,
  department: text,
  jobTitle: text,
  officeLocation: text,
  employeeId: text,
  employeeOrgData: z.object({ costCenter: text }).passthrough().nullable().optional(),
  "manager@delta": z
    .array(z.object({ id: z.string().max(64), "@removed": z.unknown().optional() }))
    .max(10)
    .optional(),
});

/** What an entry says of a user's profile; a field absent from the entry is undefined (unchanged). */
export interface ListedProfile {
  displayName?: string | null;
  email?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  officeLocation?: string | null;
  employeeId?: string | null;
  managerOid?: string | null;
  costCenter?: string | null;
}

function profileOf(user: z.infer<typeof directoryUser>): ListedProfile | undefined {
  const profile: ListedProfile = {};
  if (user.displayName !== undefined) profile.displayName = user.displayName;
  // Email: mail, else the UPN (the sign-in name), as at provisioning.
  if (user.mail !== undefined || user.userPrincipalName !== undefined) profile.email = user.mail ?? user.userPrincipalName ?? null;
  for (const key of ["department", "jobTitle", "officeLocation", "employeeId"] as const)
    if (user[key] !== undefined) profile[key] = user[key];
  if (user.employeeOrgData !== undefined) profile.costCenter = user.employeeOrgData?.costCenter ?? null;
  const manager = user["manager@delta"];
  if (manager !== undefined) profile.managerOid = manager.find((m) => m["@removed"] === undefined)?.id ?? null;
  return Object.keys(profile).length > 0 ? profile : undefined;
}

/** What a page says about one Entra user; `unchanged` is a delta entry without accountEnabled. */
export type AccountState = "enabled" | "disabled" | "deleted" | "unchanged";

interface DirectoryPage {
  /** `upn`: the sign-in name, when the entry has it (the sync scope's domains: runScope.ts). */
  users: { oid: string; state: AccountState; profile?: ListedProfile; upn?: string | null }[];
  nextLink: string | null;
  deltaLink: string | null;
}

export async function readDirectoryPage(graph: GraphClient, url: string): Promise<DirectoryPage> {
  const pageSchema = z.object({
    value: z.array(directoryUser),
    "@odata.nextLink": z.string().optional(),
    "@odata.deltaLink": z.string().optional(),
  });
  const page = await graph.get(url, pageSchema, PAGE_SIZE_HEADER);
  // A link must stay on Graph's origin: resolve() refuses any other before the token is sent.
  const nextLink = page["@odata.nextLink"] ?? null;
  const deltaLink = page["@odata.deltaLink"] ?? null;
  if (nextLink) graph.resolve(nextLink);
  if (deltaLink) graph.resolve(deltaLink);
  return {
    users: page.value.map((user) => ({
      oid: user.id,
      ...(user["@removed"] ? {} : { profile: profileOf(user), upn: user.userPrincipalName }),
      state: user["@removed"]
        ? "deleted"
        : user.accountEnabled === true
          ? "enabled"
          : user.accountEnabled === false
            ? "disabled"
            : "unchanged",
    })),
    nextLink,
    deltaLink,
  };
}
