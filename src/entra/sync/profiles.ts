// Profiles stay current (issue 19): every page a directory run reads (a full listing's or a delta
// round's) updates the linked members it lists, right away. Unlike a deactivation, a profile change
// takes nothing away, so it does not wait for the whole read. Identity links stay by object id, so
// a rename or a new email changes nothing about sign-in.
//
// Directory values are untrusted: control characters are dropped, whitespace runs become one
// space, a long value is shortened with "…" (views escape them like any text). An email that is
// already another UniAsset account's is not taken: the member keeps the one they had, and the run's
// audit row names them (never a failed run).
import { insertAuditEvent } from "../../db/audit.ts";
import type { Db } from "../../db/client.ts";
import { findProfilesAmong, profileWrites, type ProfileUpdate, type StoredProfile } from "../../db/memberProfiles.ts";
import { runStatements } from "../../db/statements.ts";
import type { ListedProfile } from "./directoryPage.ts";

/** Longest kept: Graph's own limits (displayName 256, department/jobTitle/officeLocation 128, employeeId 16) would do, but a hostile or odd directory is not bound by them. */
const MAX = {
  displayName: 256,
  email: 320,
  department: 128,
  jobTitle: 128,
  officeLocation: 128,
  employeeId: 64,
  managerOid: 64,
  costCenter: 64,
};
// C0 and C1 controls, DEL, and the bidi overrides and isolates that reorder what a page shows.
const CONTROLS = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;

/** A directory value as UniAsset keeps it: no control characters, one space for any whitespace run, at most `max` characters. */
export function cleanDirectoryText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const cleaned = value.replace(CONTROLS, " ").replace(/\s+/gu, " ").trim();
  if (cleaned.length === 0) return null;
  const chars = [...cleaned];
  return chars.length <= max ? cleaned : `${chars.slice(0, max - 1).join("")}…`;
}

export const PROFILE_FIELDS = [
  "displayName",
  "email",
  "department",
  "jobTitle",
  "officeLocation",
  "employeeId",
  "managerOid",
  "costCenter",
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
export type ProfileChange = { [K in ProfileField]?: { from: string | null; to: string | null } };

/** What changes for one member: each listed field that differs from what is kept, cleaned. */
export function profileChange(stored: StoredProfile, listed: ListedProfile): ProfileChange {
  const change: ProfileChange = {};
  for (const field of PROFILE_FIELDS) {
    const value = listed[field];
    if (value === undefined) continue; // not in this entry: unchanged
    const to = cleanDirectoryText(value, MAX[field]);
    // A name is never emptied: a directory without one keeps the name UniAsset has.
    if (field === "displayName" && to === null) continue;
    const from = stored[field];
    if (to !== from) change[field] = { from, to };
  }
  return change;
}

/**
 * Keeps the profiles of the linked members among `listed`: one read (the members, their profiles,
 * and whether a new email is another account's), then one write batch for those that changed.
 * Returns how many members changed and whose email was kept.
 */
export async function keepProfiles(
  db: Db,
  run: { organizationId: string; tenantId: string; runId: string },
  listed: { oid: string; profile?: ListedProfile }[],
  now: number,
): Promise<{ changed: number; emailsKept: number }> {
  const withProfile = listed.filter((u): u is { oid: string; profile: ListedProfile } => u.profile !== undefined);
  if (withProfile.length === 0) return { changed: 0, emailsKept: 0 };
  const byOid = new Map(withProfile.map((u) => [u.oid.toLowerCase(), u.profile]));
  const stored = await findProfilesAmong(db, run.organizationId, run.tenantId, [...byOid.keys()], (oid) => {
    const email = byOid.get(oid)?.email;
    return email === undefined ? null : cleanDirectoryText(email, MAX.email);
  });
  const updates: ProfileUpdate[] = [];
  const kept: string[] = [];
  for (const member of stored) {
    const change = profileChange(member, byOid.get(member.oid)!);
    if (change.email && member.emailTaken) {
      kept.push(member.userId);
      delete change.email;
    }
    if (Object.keys(change).length > 0) updates.push({ member, change });
  }
  // A constant number of statements per page, whatever changed (memberProfiles.ts).
  const writes = profileWrites(db, { organizationId: run.organizationId, runId: run.runId, updates, now });
  if (kept.length > 0) {
    writes.push(
      insertAuditEvent(db, {
        organizationId: run.organizationId,
        actorUserId: null,
        action: "sync.profile_email_kept",
        details: { runId: run.runId, userIds: kept.slice(0, 100), count: kept.length },
        now,
      }),
    );
  }
  if (writes.length > 0) await runStatements(db, writes);
  return { changed: updates.length, emailsKept: kept.length };
}
