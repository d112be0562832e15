// Who goes, or would go, from what role to what and why: one table and one wording for the mapping
// page's preview of the next run and for the role changes of directory runs (held, applied, undone).
import type { Role } from "../../src/db/schema.ts";
import { RoleBadge } from "./badges.tsx";

export interface RoleChangeLine {
  displayName: string;
  email?: string | null;
  from: Role;
  to: Role;
  /** The mapped group that decides the new role; null: the default role. */
  decidingGroup: string | null;
}

/** Why the new role, in the words "Why this role" uses on the Users page. */
export function roleChangeReason(decidingGroup: string | null): string {
  return decidingGroup ? `Member of ${decidingGroup}` : "In no mapped group: the default role";
}

export function RoleChangeTable(props: { lines: RoleChangeLine[] }) {
  return (
    <table class="table role-change-table">
      <thead>
        <tr>
          <th>Member</th>
          <th>From</th>
          <th>To</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {props.lines.map((line) => (
          <tr>
            <td>
              {line.displayName}
              {line.email ? <span class="muted"> {line.email}</span> : null}
            </td>
            <td>
              <RoleBadge role={line.from} />
            </td>
            <td>
              <RoleBadge role={line.to} />
            </td>
            <td>{roleChangeReason(line.decidingGroup)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
