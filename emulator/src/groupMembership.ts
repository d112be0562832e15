// Group membership as a log of changes, so that groups/delta can answer "which members were added
// to or removed from which group since this token". Membership itself stays on the user
// (DirectoryUser.groups, what transitiveMemberOf reads); every change made through the admin API
// goes through setMembership, which updates the user and appends here, stamped with a directory
// version like any other change. Kept in storage (kind "membership") so tokens issued before a
// restart still mean the same moment.
// https://learn.microsoft.com/en-us/graph/api/group-delta ("members@delta": members added or removed)
import { changeUser, directory, saveDirectoryVersion, tenantKey, type Tenant } from "./directory.ts";
import { persist } from "./storage.ts";

export interface MembershipChange {
  /** Directory version of the change. */
  at: number;
  groupId: string;
  memberId: string;
  memberType: "user" | "group";
  removed: boolean;
}

/** Per tenant object: a reset makes new tenants, and with them an empty log. */
const logs = new WeakMap<Tenant, MembershipChange[]>();

export function membershipLog(tenant: Tenant): MembershipChange[] {
  let log = logs.get(tenant);
  if (!log) {
    log = [];
    logs.set(tenant, log);
  }
  return log;
}

function record(tenant: Tenant, change: Omit<MembershipChange, "at">): MembershipChange {
  const stamped = { ...change, at: ++directory.version };
  const log = membershipLog(tenant);
  log.push(stamped);
  // Zero-padded index: storage's key order is the log's order (restore.ts reads it back).
  persist("membership", tenantKey(tenant.id, String(log.length - 1).padStart(10, "0")), stamped);
  saveDirectoryVersion();
  return stamped;
}

/** Adds or removes a user's direct membership of a group; false when it was already so. */
export function setMembership(tenant: Tenant, oid: string, groupId: string, member: boolean): boolean {
  let changed = false;
  changeUser(tenant, oid, (entry) => {
    const has = entry.user.groups.includes(groupId);
    if (has === member) return;
    entry.user.groups = member ? [...entry.user.groups, groupId] : entry.user.groups.filter((g) => g !== groupId);
    changed = true;
  });
  if (changed) record(tenant, { groupId, memberId: oid, memberType: "user", removed: !member });
  return changed;
}

/** A user created with groups, or put in many at once (admin API): each group gains a member. */
export function recordJoined(tenant: Tenant, oid: string, groupIds: readonly string[]): void {
  for (const groupId of groupIds) record(tenant, { groupId, memberId: oid, memberType: "user", removed: false });
}

/** A group created inside other groups (admin API): each of them gains a group member. */
export function recordNestedGroup(tenant: Tenant, groupId: string, parents: string[]): void {
  for (const parent of parents) record(tenant, { groupId: parent, memberId: groupId, memberType: "group", removed: false });
}

/** restore.ts: a kept change back into its tenant's log. */
export function restoreMembershipChange(tenant: Tenant, change: MembershipChange): void {
  membershipLog(tenant).push(change);
}

/** Per group changed after `since` (up to `upto`): each member's last change, oldest group first. */
export function membershipChangesSince(tenant: Tenant, since: number, upto: number): Map<string, Map<string, MembershipChange>> {
  const byGroup = new Map<string, Map<string, MembershipChange>>();
  for (const change of membershipLog(tenant)) {
    if (change.at <= since || change.at > upto) continue;
    let members = byGroup.get(change.groupId);
    if (!members) {
      members = new Map();
      byGroup.set(change.groupId, members);
    }
    members.delete(change.memberId); // re-inserted: the member's last change, in change order
    members.set(change.memberId, change);
  }
  return byGroup;
}
