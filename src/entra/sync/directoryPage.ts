// One page of the tenant's users from Microsoft Graph, read and validated. A full run first asks
// the delta query for a link to "now" (`$deltatoken=latest`, one request, no users), then lists
// /users 999 a page following @odata.nextLink; the next run reads from that link only what changed
// since the listing began, so nothing that changes during a long listing is missed.
import { z } from "zod";
import type { GraphClient } from "../graph.ts";

/**
 * Only what the sync reads: the object id and whether the account is enabled (a delta round adds
 * `@removed` by itself). About 60 % fewer bytes a user than the profile fields. A delta link
 * keeps the $select it was made with, so later rounds ask for the same two.
 */
const SYNC_FIELDS = "id,accountEnabled";
export const FULL_LISTING_PATH = `/v1.0/users?$select=${SYNC_FIELDS}&$top=999`;
/** A delta link for the present moment, taken before a full listing. */
export const DELTA_FROM_NOW_PATH = `/v1.0/users/delta?$select=${SYNC_FIELDS}&$deltatoken=latest`;
/** Graph's delta query takes its page size from this header, not $top (/users ignores it). */
const PAGE_SIZE_HEADER = { Prefer: "odata.maxpagesize=999" };

/** A user as a delta round lists it: the directory's user, or one marked removed. */
const directoryUser = z.object({
  id: z.string().min(1).max(64),
  accountEnabled: z.boolean().nullable().optional(),
  "@removed": z.object({ reason: z.string().optional() }).optional(),
});

/** What a page says about one Entra user; `unchanged` is a delta entry without accountEnabled. */
export type AccountState = "enabled" | "disabled" | "deleted" | "unchanged";

interface DirectoryPage {
  users: { oid: string; state: AccountState }[];
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
