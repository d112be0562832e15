// A role the directory manages (issue 19): while Group → Role mapping is on, a linked member's role
// follows their Entra ID groups and a hand change is refused (409, src/people/members.ts), so the
// page offers no role choice for them, only the role, whose it is and why. Owner is not a mapped
// role: an Owner may still make such a member an Owner by hand.
import type { Viewer } from "../../src/context.ts";
import type { RoleDecisionRow } from "../../src/db/memberList.ts";
import type { Role } from "../../src/db/schema.ts";
import { PATHS } from "../../src/paths.ts";
import { RoleBadge } from "./badges.tsx";
import { CsrfField } from "./forms.tsx";

/** Why the directory gives this role: the deciding group, or the default role. */
export function managedRoleReason(decision: RoleDecisionRow | null): string {
  if (decision?.rule === "group" && decision.decidingGroup) return `through ${decision.decidingGroup.name}`;
  if (decision?.rule === "default") return "in no mapped group: the default role";
  return "from their Microsoft Entra ID groups";
}

export function ManagedRole(props: {
  viewer: Viewer;
  member: { userId: string; displayName: string; role: Role };
  decision: RoleDecisionRow | null;
}) {
  const { viewer, member } = props;
  return (
    <>
      <RoleBadge role={member.role} />
      <span class="muted managed-role" id={`managed-role-${member.userId}`} data-role={member.role}>
        {" "}
        Managed by Group → Role mapping ({managedRoleReason(props.decision)})
      </span>
      {viewer.role === "owner" && (
        <form
          method="post"
          action={`${PATHS.users}/${member.userId}/role`}
          hx-post={`${PATHS.users}/${member.userId}/role`}
          hx-target="#users-section"
          hx-swap="outerHTML"
          hx-confirm={`Make ${member.displayName} an Owner? Owners are never changed by the mapping.`}
          class="inline"
        >
          <CsrfField token={viewer.csrfToken} />
          <input type="hidden" name="role" value="owner" />
          <button type="submit">Make Owner</button>
        </form>
      )}
    </>
  );
}
