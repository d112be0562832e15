// A member's page: name, email, role and status, and every attribute the directory keeps for them,
// marked "From Microsoft Entra ID, updated …" (issue 19). Directory values are text: JSX escapes them.
import type { MemberPageData } from "../../src/people/memberProfile.ts";
import { PATHS } from "../../src/paths.ts";
import { RoleBadge, formatTime } from "../parts/badges.tsx";
import { managedRoleReason } from "../parts/managedRole.tsx";

export function MemberProfilePage(props: { data: MemberPageData }) {
  const { member, profile } = props.data;
  const rows: [string, string | null][] = profile
    ? [
        ["Department", profile.department],
        ["Job title", profile.job_title],
        ["Office", profile.office_location],
        ["Employee ID", profile.employee_id],
        ["Manager", profile.manager_name ?? profile.manager_oid],
        ["Cost center", profile.cost_center],
      ]
    : [];
  return (
    <section class="card" id="member">
      <h1>{member.displayName}</h1>
      <p>
        {member.email} · <RoleBadge role={member.role} /> · {member.status === "active" ? "Active" : "Deactivated"}
      </p>
      {props.data.managedByMapping && (
        <p class="muted" id="managed-role">
          Role managed by Group → Role mapping ({managedRoleReason(props.data.decision)}).
        </p>
      )}
      {profile ? (
        <>
          <table class="table" id="member-profile">
            <tbody>
              {rows.map(([label, value]) => (
                <tr>
                  <th scope="row">{label}</th>
                  <td>{value ?? <span class="muted">Not set</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">From Microsoft Entra ID, updated {formatTime(profile.updated_at)}.</p>
        </>
      ) : (
        <p class="muted">Microsoft Entra ID has not told UniAsset about this person's work profile.</p>
      )}
      <p>
        <a href={PATHS.users}>Back to Users</a>
      </p>
    </section>
  );
}
