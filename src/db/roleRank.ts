// A mapped role's rank in SQL, highest first as MAPPABLE_ROLES lists them (Admin 4 … Viewer 1), the
// order roleRank (src/auth/access.ts) gives them: for statements that pick the highest mapped role or
// tell a lowering from a raise.
import { sql, type SQL } from "drizzle-orm";
import { MAPPABLE_ROLES } from "./schema.ts";

export function mappedRoleRank(column: SQL): SQL {
  const whens = MAPPABLE_ROLES.map((role, i) => sql.raw(`when '${role}' then ${MAPPABLE_ROLES.length - i}`));
  return sql`case ${column} ${sql.join(whens, sql` `)} end`;
}
