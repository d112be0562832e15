// Linked members' work profiles (migrations/0022, member_profiles) and the users row's name and
// email, as directory runs keep them (src/entra/sync/profiles.ts).
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { statement, type Write } from "./statements.ts";
import { insertEventsFor, MEMBER_OF_U } from "./outbox.ts";

export interface StoredProfile {
  oid: string;
  userId: string;
  displayName: string | null;
  email: string | null;
  department: string | null;
  jobTitle: string | null;
  officeLocation: string | null;
  employeeId: string | null;
  managerOid: string | null;
  costCenter: string | null;
  /** The email the directory gives now is already another account's (it is not taken). */
  emailTaken: boolean;
  /** A profile was kept before: its first read raises no member.updated. */
  hasProfile: boolean;
}

/** A member_profiles row's work profile, as SQL names its columns. */
type ProfileColumns = {
  department: string | null;
  job_title: string | null;
  office_location: string | null;
  employee_id: string | null;
  manager_oid: string | null;
  cost_center: string | null;
};

/**
 * The members linked to the tenant among `oids`, with what UniAsset keeps of them. One statement:
 * per oid one identities probe, the membership's and the user's primary keys, the profile's, and
 * (only when the entry's email is not the one kept: SQLite stops at the first false term) one probe
 * of users_email for another account with that email, so an unchanged member costs four rows.
 */
export async function findProfilesAmong(
  db: Db,
  organizationId: string,
  tenantId: string,
  oids: string[],
  newEmailOf: (oid: string) => string | null,
): Promise<StoredProfile[]> {
  if (oids.length === 0) return [];
  const listed = JSON.stringify(oids.map((oid) => [oid, newEmailOf(oid)]));
  const rows = await db.all<
    ProfileColumns & {
      oid: string;
      user_id: string;
      display_name: string | null;
      email: string | null;
      email_taken: number;
      has_profile: number;
    }
  >(sql`
    select i.subject as oid, u.id as user_id, u.display_name, u.email,
      p.department, p.job_title, p.office_location, p.employee_id, p.manager_oid, p.cost_center, (p.user_id is not null) as has_profile,
      (x.value ->> 1 is not null and x.value ->> 1 is not u.email
        and exists (select 1 from users o where o.email = x.value ->> 1 and o.id != u.id)) as email_taken
    from json_each(${listed}) x
    cross join identities i on i.provider = 'microsoft' and i.issuer_key = ${tenantId} and i.subject = x.value ->> 0
    cross join memberships m on m.organization_id = ${organizationId} and m.user_id = i.user_id
    cross join users u on u.id = i.user_id
    left join member_profiles p on p.organization_id = ${organizationId} and p.user_id = u.id`);
  return rows.map((row) => ({
    oid: row.oid.toLowerCase(),
    userId: row.user_id,
    displayName: row.display_name,
    email: row.email,
    department: row.department,
    jobTitle: row.job_title,
    officeLocation: row.office_location,
    employeeId: row.employee_id,
    managerOid: row.manager_oid,
    costCenter: row.cost_center,
    emailTaken: row.email_taken === 1,
    hasProfile: row.has_profile === 1,
  }));
}

type Change = { [field: string]: { from: string | null; to: string | null } | undefined };

/** The payload's names of the fields (member.updated's `changes`). */
const PUBLIC_FIELDS = {
  displayName: "display_name",
  email: "email",
  department: "department",
  jobTitle: "job_title",
  officeLocation: "office_location",
  employeeId: "employee_id",
  managerOid: "manager_id",
  costCenter: "cost_center",
} as const;

/** One member's profile change, as a page's writes take it. */
export interface ProfileUpdate {
  member: StoredProfile;
  change: Change;
}

/**
 * The writes of a page's profile changes: at most three statements whatever the page holds (issue
 * 19: a page of 999 renamed members was three statements each, about 3,000 in one invocation, over
 * Workers' 1,000 D1 queries). Each statement walks the page's list (json_each) by primary keys: the
 * users rows (name, email) of those whose name or email changed, the profile rows, and one
 * member.updated per member with a change to report, written after both so `member` is current.
 */
export function profileWrites(db: Db, page: { organizationId: string; runId: string; updates: ProfileUpdate[]; now: number }): Write[] {
  const { organizationId, now } = page;
  if (page.updates.length === 0) return [];
  const rows = page.updates.map(({ member, change }) => {
    const next = <K extends keyof StoredProfile>(field: K) => (change[field] ? change[field]!.to : member[field]) as string | null;
    // member.updated: what changed, old and new; on a first read only a changed name or email counts.
    const changes = Object.fromEntries(
      Object.entries(change)
        .filter(([field, value]) => value && field in PUBLIC_FIELDS && (member.hasProfile || field === "displayName" || field === "email"))
        .map(([field, value]) => [PUBLIC_FIELDS[field as keyof typeof PUBLIC_FIELDS], value!]),
    );
    return {
      user_id: member.userId,
      users_changed: change.displayName || change.email ? 1 : 0,
      display_name: next("displayName") ?? member.displayName,
      email: next("email"),
      department: next("department"),
      job_title: next("jobTitle"),
      office_location: next("officeLocation"),
      employee_id: next("employeeId"),
      manager_oid: next("managerOid"),
      cost_center: next("costCenter"),
      changes: Object.keys(changes).length > 0 ? changes : null,
    };
  });
  // Each statement is bound only the fields it writes (a renamed page's list is about 300 KB: bound
  // whole to all three, the run's isolate heap peaked 70 MB above where it started).
  const writes: Write[] = [];
  const renamed = rows.filter((row) => row.users_changed === 1).map((row) => [row.user_id, row.display_name, row.email]);
  if (renamed.length > 0) {
    writes.push(
      statement(
        db,
        sql`update users set display_name = x.value ->> 1, email = x.value ->> 2
          from json_each(${JSON.stringify(renamed)}) x where users.id = x.value ->> 0`,
      ),
    );
  }
  const profiles = rows.map((row) => [
    row.user_id,
    row.department,
    row.job_title,
    row.office_location,
    row.employee_id,
    row.manager_oid,
    row.cost_center,
    row.display_name,
  ]);
  writes.push(
    statement(
      db,
      // role and standing: the Users page's filter columns (migrations/0028), from the membership.
      sql`insert into member_profiles (organization_id, user_id, department, job_title, office_location, employee_id, manager_oid, cost_center,
          department_key, office_key, name_key, updated_at, role, standing)
        select ${organizationId}, x.value ->> 0, x.value ->> 1, x.value ->> 2, x.value ->> 3, x.value ->> 4, x.value ->> 5, x.value ->> 6,
          lower(x.value ->> 1), lower(x.value ->> 3), lower(x.value ->> 7), ${now}, m.role, coalesce(m.deactivated_reason, 'active')
        from json_each(${JSON.stringify(profiles)}) x
        cross join memberships m on m.organization_id = ${organizationId} and m.user_id = x.value ->> 0
        where true -- SQLite needs a WHERE between INSERT … SELECT and its upsert clause
        on conflict (organization_id, user_id) do update set department = excluded.department, job_title = excluded.job_title,
          office_location = excluded.office_location, employee_id = excluded.employee_id, manager_oid = excluded.manager_oid,
          cost_center = excluded.cost_center, department_key = excluded.department_key, office_key = excluded.office_key,
          name_key = excluded.name_key, updated_at = excluded.updated_at`,
    ),
  );
  const reported = rows.filter((row) => row.changes !== null).map((row) => [row.user_id, row.changes]);
  if (reported.length > 0) {
    writes.push(
      statement(
        db,
        insertEventsFor(
          "member.updated",
          {
            organizationId,
            now,
            data: {
              organization_id: organizationId,
              member: MEMBER_OF_U,
              cause: "directory_sync",
              run_id: page.runId,
              changes: sql`json(x.value -> 1)`,
            },
          },
          { from: sql`json_each(${JSON.stringify(reported)}) x cross join users u on u.id = x.value ->> 0` },
        ),
      ),
    );
  }
  return writes;
}

/** A member's kept profile for the member page. */
export async function findMemberProfile(db: Db, organizationId: string, userId: string) {
  const rows = await db.all<ProfileColumns & { updated_at: number; manager_name: string | null }>(sql`
    select p.department, p.job_title, p.office_location, p.employee_id, p.manager_oid, p.cost_center, p.updated_at,
      (select mu.display_name from identities mi join users mu on mu.id = mi.user_id
        where mi.provider = 'microsoft' and mi.subject = p.manager_oid limit 1) as manager_name
    from member_profiles p where p.organization_id = ${organizationId} and p.user_id = ${userId}`);
  return rows[0] ?? null;
}
