// SCIM groups and their mapped roles, and the organization's SCIM default role (migrations/0021),
// for the mapping section. The rule that applies them is src/db/scimRoles.ts.
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import type { MappableRole } from "./schema.ts";
import { statement, type Statement } from "./statements.ts";

/** The most groups the section lists (by name); a provider pushing more is told to map by name first. */
export const LISTED_GROUPS = 200;

export interface ScimMappingSection {
  groups: { id: string; displayName: string; members: number; role: MappableRole | null }[];
  /** More groups than LISTED_GROUPS exist. */
  more: boolean;
  defaultRole: MappableRole;
  /** An Owner or Admin saved the mapping once: from then on members' groups decide their roles. */
  mappingOn: boolean;
}

/** The section in one round trip: the groups by name with their member counts and roles, and the default role. */
export async function listScimGroupRoles(db: Db, organizationId: string): Promise<ScimMappingSection> {
  const [groups, settings, mapped] = await db.$client.batch([
    statement(
      db,
      sql`select g.id as id, g.display_name as displayName,
        (select count(*) from scim_group_members gm where gm.group_id = g.id) as members,
        (select r.role from scim_group_roles r where r.organization_id = g.organization_id and r.group_id = g.id) as role
      from scim_groups g where g.organization_id = ${organizationId} order by g.display_name_key limit ${LISTED_GROUPS + 1}`,
    ),
    statement(db, sql`select default_role as role from scim_settings where organization_id = ${organizationId}`),
    statement(db, sql`select exists (select 1 from scim_settings where organization_id = ${organizationId}) as mapped`),
  ]);
  const rows = groups!.results as ScimMappingSection["groups"];
  return {
    groups: rows.slice(0, LISTED_GROUPS),
    more: rows.length > LISTED_GROUPS,
    defaultRole: ((settings!.results[0] as { role?: MappableRole } | undefined)?.role ?? "member") as MappableRole,
    mappingOn: !!(mapped!.results[0] as { mapped: number }).mapped,
  };
}

export async function findScimGroup(db: Db, organizationId: string, groupId: string) {
  return db.$client
    .prepare(
      `select g.id as id, g.display_name as displayName,
        (select r.role from scim_group_roles r where r.organization_id = g.organization_id and r.group_id = g.id) as role
      from scim_groups g where g.organization_id = ? and g.id = ?`,
    )
    .bind(organizationId, groupId)
    .first<{ id: string; displayName: string; role: MappableRole | null }>();
}

/** Maps a group of the organization to a role, or unmaps it (`none`); the mapping is on from then on. */
export function setScimGroupRole(db: Db, organizationId: string, groupId: string, role: MappableRole | "none", now: number): Statement[] {
  const mappingOn = statement(
    db,
    sql`insert into scim_settings (organization_id, updated_at) values (${organizationId}, ${now})
      on conflict (organization_id) do update set updated_at = excluded.updated_at`,
  );
  if (role === "none") {
    return [
      mappingOn,
      statement(db, sql`delete from scim_group_roles where organization_id = ${organizationId} and group_id = ${groupId}`),
    ];
  }
  return [
    mappingOn,
    statement(
      db,
      sql`insert into scim_group_roles (organization_id, group_id, role, created_at)
      select ${organizationId}, id, ${role}, ${now} from scim_groups where id = ${groupId} and organization_id = ${organizationId}
      on conflict (organization_id, group_id) do update set role = excluded.role`,
    ),
  ];
}

export function saveScimDefaultRole(db: Db, organizationId: string, role: MappableRole, now: number): Statement {
  return statement(
    db,
    sql`insert into scim_settings (organization_id, default_role, updated_at) values (${organizationId}, ${role}, ${now})
      on conflict (organization_id) do update set default_role = excluded.default_role, updated_at = excluded.updated_at`,
  );
}
