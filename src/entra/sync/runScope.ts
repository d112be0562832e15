// The sync scope in every run (issue 20): a linked member who left the scope is one more leaver of
// the run, with the cause "left_scope", and one deactivated for it who is back is one more returner
// ("in_scope"). They go on the run's own change list (judgeListing.ts ChangeList) with its other
// leavers, so every leaver rule holds for them alike: counted together against the hold threshold
// (a held run lists them with why), never the last Owner, never someone deactivated by hand,
// sessions ended, audited, Undo, reactivated when back.
//
// How a run tells who is in the scope:
// - Domains: the sign-in name (userPrincipalName) of each user a page lists, against the chosen
//   domains. A full listing names everyone; a delta round names the users that changed, each
//   "represented by their id with at least the properties that have been updated"
//   (https://learn.microsoft.com/en-us/graph/delta-query-overview, resource representation; users:
//   https://learn.microsoft.com/en-us/graph/delta-query-users), so a user moved to another domain
//   comes with the new userPrincipalName, and an entry without it says nothing of the scope. A
//   delta round's word is confirmed by a direct read before anyone goes (confirmLeavers.ts). A chosen domain that Entra removed sends the
//   run to a full listing (refreshDomains.ts), since a delta round does not list its people again.
// - Groups: the transitive members of the scope's groups (scopeOfRun.ts), read by the nightly run
//   and Sync now, never by a real-time read: a users delta says nothing about group memberships, and
//   reading every scope group on each notification would cost a full group read per change. So a
//   real-time read applies the domains only, and a group leaver waits for the next nightly run.
// A run that cannot tell (a group read failed, a delta entry without the sign-in name) changes
// nobody for the scope: `null`.
import type { Db } from "../../db/client.ts";
import { listScopeStandings, scopeMove } from "../../db/scopeMembers.ts";
import { findLinkedMembersAmong } from "../../db/syncMembers.ts";
import type { SyncCause, SyncScopeMode } from "../../db/schema.ts";
import { isProvisionableMember } from "../directory.ts";
import { signInScope, type ScopeColumns } from "../signInDirectory.ts";

/** What this file reads and sets of a run's observed member (planDirectoryChanges.ts Observed); named here, so no import cycle. */
interface ObservedScope {
  oid: string;
  inScope?: boolean | null;
}

/** Where the run's changes go (judgeListing.ts ChangeSink). */
interface ScopeChangeSink {
  add(change: "deactivate" | "reactivate", entry: [string, SyncCause]): Promise<void>;
}

/** The scope as a run reads it at its start: small enough for a step result. */
export interface ScopeSettings {
  mode: SyncScopeMode;
  /** The chosen domains (lower case). */
  domains: string[];
  groupIds: string[];
}

/** What a run knows of the scope once it has read. */
export interface RunScope {
  settings: ScopeSettings;
  /** Groups mode: the enabled members of the scope's groups in the chosen domains (lower-case oids); null when not read. */
  groupMembers: Set<string> | null;
  /** A full listing: the linked members it listed outside the chosen domains (lower-case oids). */
  outsideDomains: Set<string>;
}

/**
 * The organization's scope from the settings its run loads first (syncRuns.ts findSyncSettings), as
 * sign-in reads it (signInScope); null while the plan has no directory sync.
 */
export function scopeSettingsOf(settings: ScopeColumns & { directorySync: boolean }): ScopeSettings | null {
  if (!settings.directorySync) return null;
  const scope = signInScope(settings);
  return { mode: scope.mode, domains: scope.domains.map((d) => d.toLowerCase()), groupIds: scope.groupIds };
}

/** The chosen domains a run's domain refresh left (refreshDomains.ts) replace those it loaded before it. */
export function withRefreshedDomains(settings: ScopeSettings | null, chosen: readonly string[] | undefined): ScopeSettings | null {
  return settings && chosen ? { ...settings, domains: chosen.map((d) => d.toLowerCase()) } : settings;
}

/**
 * What a sign-in name says of the scope: false outside the chosen domains; in them, true with the
 * domain scope and null with a group scope (the groups decide). Guests (#EXT#) are never in it.
 */
export function scopeOfName(settings: ScopeSettings, upn: string | null | undefined): boolean | null {
  if (upn === undefined) return null;
  const inDomains = isProvisionableMember({ id: "", userPrincipalName: upn, userType: "Member" }, settings.domains);
  return !inDomains ? false : settings.mode === "domains" ? true : null;
}

/**
 * A full listing's page: its linked members whose sign-in name is outside the chosen domains (one
 * statement, only when the page has such users), as lower-case object ids for the run to keep.
 */
export async function outsideScopeAmong(
  db: Db,
  run: { organizationId: string; tenantId: string },
  settings: ScopeSettings,
  users: readonly { oid: string; upn?: string | null }[],
): Promise<string[]> {
  const outside = users.filter((user) => scopeOfName(settings, user.upn) === false).map((user) => user.oid);
  if (outside.length === 0) return [];
  const linked = await findLinkedMembersAmong(db, run.organizationId, run.tenantId, outside);
  return linked.map((member) => member.oid.toLowerCase());
}

/**
 * A full listing's verdict on one member (any of their object ids): in the scope's groups when they
 * were read; else outside when the listing found them in an unchosen domain, inside with the domain
 * scope when it listed them at all (`listed`), unknown otherwise.
 */
export function listedScopeOf(scope: RunScope | null, oids: readonly string[], listed: boolean): boolean | null {
  if (!scope) return null;
  const lower = oids.map((oid) => oid.toLowerCase());
  if (scope.groupMembers) return lower.some((oid) => scope.groupMembers!.has(oid));
  if (lower.some((oid) => scope.outsideDomains.has(oid))) return false;
  return listed && scope.settings.mode === "domains" ? true : null;
}

/** A delta run: the group read's verdict replaces what the pages said, for the members they listed. */
export function applyGroupScope(observed: ReadonlyMap<string, ObservedScope>, scope: RunScope | null) {
  if (!scope?.groupMembers) return;
  for (const entry of observed.values()) entry.inScope = scope.groupMembers.has(entry.oid.toLowerCase());
}

const MEMBERS_PER_READ = 5_000;

/**
 * A delta run with the scope's groups read: every other linked member is judged against them too
 * (a group change shows in no users delta), 5,000 a statement, onto the run's change list. Members
 * the run's pages listed were judged with their account state (planDirectoryChanges.ts) and are
 * skipped. The group members are enabled accounts, so one among them is back without another read.
 */
export async function addGroupScopeChanges(
  db: Db,
  run: { organizationId: string; tenantId: string },
  scope: RunScope | null,
  observed: ReadonlyMap<string, ObservedScope>,
  list: ScopeChangeSink,
) {
  const members = scope?.groupMembers;
  if (!members) return;
  for (let after = ""; ; ) {
    const page = await listScopeStandings(db, run.organizationId, run.tenantId, after, MEMBERS_PER_READ);
    for (const member of page) {
      if (observed.has(member.user_id)) continue;
      const move = scopeMove(member, members.has(member.oid.toLowerCase()));
      if (move === "leaves") await list.add("deactivate", [member.user_id, "left_scope"]);
      else if (move === "returns") await list.add("reactivate", [member.user_id, "in_scope"]);
    }
    const last = page.at(-1);
    if (!last || page.length < MEMBERS_PER_READ) break;
    after = last.user_id;
  }
}
