import type { Viewer } from "../../src/context.ts";
import { canManageMember, isOwnerOrAdmin } from "../../src/auth/access.ts";
import type { InvitationRow } from "../../src/db/invitations.ts";
import type { MemberRow, RoleDecisionRow } from "../../src/db/memberList.ts";
import { MEMBER_STATUS_FILTERS, ROLES, type MemberStatusFilter, type Role } from "../../src/db/schema.ts";
import { RoleBadge, formatTime, roleLabel } from "../parts/badges.tsx";
import { CsrfField, Flash } from "../parts/forms.tsx";
import { listHref } from "../parts/lists.ts";
import { ManagedRole } from "../parts/managedRole.tsx";
import { PATHS } from "../../src/paths.ts";

/** What the list shows: the search and filters as they are in the URL. */
export interface MemberListView {
  search: string;
  status?: MemberStatusFilter;
  role?: Role;
  /** Directory profile filters (issue 19). */
  department?: string;
  office?: string;
  /** This page's cursor, as in the URL (absent on the first page). */
  after?: string;
  members: MemberRow[];
  /** The next page's cursor; absent on the last page. */
  next?: string;
}

interface UsersProps {
  viewer: Viewer;
  list: MemberListView;
  invitations: InvitationRow[];
  notice?: string;
}

const STATUS_LABELS: Record<MemberStatusFilter, string> = {
  active: "Active",
  deactivated: "Deactivated",
  deactivated_by_hand: "Deactivated by hand",
  deactivated_by_directory_sync: "Deactivated by directory sync",
  deactivated_by_scim: "Deprovisioned by your identity provider",
};

export function UsersPage(props: UsersProps) {
  return (
    <section>
      <h1>Users</h1>
      <p>People with access to {props.viewer.organizationName}.</p>
      <UsersSection {...props} />
    </section>
  );
}

/** Everything that changes after an action, swapped as one piece by htmx. */
export function UsersSection(props: UsersProps) {
  const { viewer } = props;
  const manages = isOwnerOrAdmin(viewer.role);
  return (
    <div id="users-section">
      {props.notice && <Flash kind="success" title="Done." message={props.notice} />}
      <MemberFilters list={props.list} />
      <MemberList viewer={viewer} list={props.list} />
      {manages && <Invitations viewer={viewer} invitations={props.invitations} />}
    </div>
  );
}

const listTarget = { "hx-target": "#member-list", "hx-swap": "outerHTML", "hx-push-url": "true" };

/**
 * Search and filters: a plain GET form, so the URL holds them and works without JavaScript. With
 * htmx, typing (debounced) or choosing a filter replaces only the list and pushes the URL.
 */
function MemberFilters(props: { list: MemberListView }) {
  const { list } = props;
  return (
    <form
      method="get"
      action={PATHS.users}
      role="search"
      class="row"
      id="member-filters"
      hx-get={PATHS.users}
      hx-trigger="submit, input delay:300ms"
      hx-sync="this:replace"
      {...listTarget}
    >
      <label>
        Search{" "}
        <input type="search" name="q" value={list.search} maxlength={100} placeholder="Name or email starts with…" autocomplete="off" />
      </label>
      <label>
        Status{" "}
        <select name="status">
          <option value="" selected={!list.status}>
            Any status
          </option>
          {MEMBER_STATUS_FILTERS.map((status) => (
            <option value={status} selected={status === list.status}>
              {STATUS_LABELS[status]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Role{" "}
        <select name="role">
          <option value="" selected={!list.role}>
            Any role
          </option>
          {ROLES.map((role) => (
            <option value={role} selected={role === list.role}>
              {roleLabel(role)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Department{" "}
        <input
          type="search"
          name="department"
          value={list.department ?? ""}
          maxlength={128}
          placeholder="Any department"
          autocomplete="off"
        />
      </label>
      <label>
        Office <input type="search" name="office" value={list.office ?? ""} maxlength={128} placeholder="Any office" autocomplete="off" />
      </label>
      <button type="submit">Search</button>
    </form>
  );
}

/** One page of members and the links to the next and the first page; what htmx swaps when the list changes. */
export function MemberList(props: { viewer: Viewer; list: MemberListView }) {
  const { viewer, list } = props;
  const manages = isOwnerOrAdmin(viewer.role);
  const filters = { q: list.search, status: list.status, role: list.role, department: list.department, office: list.office };
  const filtered =
    list.search !== "" ||
    list.status !== undefined ||
    list.role !== undefined ||
    list.department !== undefined ||
    list.office !== undefined;
  return (
    <div id="member-list">
      {list.members.length === 0 ? (
        <p class="muted" id="no-members">
          {list.after ? "No more members." : filtered ? "No members match this search." : "No members yet."}
        </p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Department</th>
              <th>Job title</th>
              <th>Role</th>
              <th>Status</th>
              <th>Last sign-in</th>
              {manages && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.members.map((member) => (
              <MemberRowView viewer={viewer} member={member} manages={manages} />
            ))}
          </tbody>
        </table>
      )}
      {(list.after || list.next) && (
        <nav class="pager" aria-label="Member pages">
          {list.after && (
            <a href={listHref(PATHS.users, filters)} hx-get={listHref(PATHS.users, filters)} {...listTarget}>
              First page
            </a>
          )}{" "}
          {list.next && (
            <a
              href={listHref(PATHS.users, { ...filters, after: list.next })}
              hx-get={listHref(PATHS.users, { ...filters, after: list.next })}
              {...listTarget}
              rel="next"
            >
              Next page
            </a>
          )}
        </nav>
      )}
    </div>
  );
}

function assignableRoles(viewer: Viewer): readonly Role[] {
  return viewer.role === "owner" ? ROLES : ROLES.filter((role) => role !== "owner");
}

function MemberRowView(props: { viewer: Viewer; member: MemberRow; manages: boolean }) {
  const { viewer, member } = props;
  const decision = props.manages ? member.decision : null;
  const editable = props.manages && canManageMember(viewer, member.role);
  const htmx = { "hx-target": "#users-section", "hx-swap": "outerHTML" };
  return (
    <tr id={`member-${member.userId}`}>
      <td>
        <a href={`${PATHS.users}/${member.userId}`}>{member.displayName}</a>
      </td>
      <td>{member.email}</td>
      <td>{member.department}</td>
      <td>{member.jobTitle}</td>
      <td>
        {props.manages && member.managedByMapping ? (
          <ManagedRole viewer={viewer} member={member} decision={decision} />
        ) : editable ? (
          <form
            method="post"
            action={`${PATHS.users}/${member.userId}/role`}
            hx-post={`${PATHS.users}/${member.userId}/role`}
            {...htmx}
            class="inline"
          >
            <CsrfField token={viewer.csrfToken} />
            <label class="visually-hidden" for={`role-${member.userId}`}>
              Role of {member.displayName}
            </label>
            <select id={`role-${member.userId}`} name="role">
              {assignableRoles(viewer).map((role) => (
                <option value={role} selected={role === member.role}>
                  {roleLabel(role)}
                </option>
              ))}
            </select>
            <button type="submit">Save role</button>
          </form>
        ) : (
          <RoleBadge role={member.role} />
        )}
        {decision && <WhyThisRole decision={decision} />}
      </td>
      <td>
        {member.status === "active" ? (
          <span class="status active">Active</span>
        ) : (
          <span class="status deactivated">
            Deactivated
            {member.deactivatedReason === "directory_sync"
              ? " by directory sync"
              : member.deactivatedReason === "left_scope"
                ? " by directory sync: left the sync scope"
                : member.deactivatedReason === "scim"
                  ? ": deprovisioned by your identity provider"
                  : ""}
          </span>
        )}
      </td>
      <td>{member.lastSignInAt ? formatTime(member.lastSignInAt) : "Not signed in yet"}</td>
      {props.manages && (
        <td>
          {editable &&
            member.userId !== viewer.userId &&
            (member.status === "active" ? (
              <form
                method="post"
                action={`${PATHS.users}/${member.userId}/deactivate`}
                hx-post={`${PATHS.users}/${member.userId}/deactivate`}
                hx-confirm={`Deactivate ${member.displayName}? Their sessions end immediately.`}
                {...htmx}
                class="inline"
              >
                <CsrfField token={viewer.csrfToken} />
                <button type="submit" class="danger">
                  Deactivate
                </button>
              </form>
            ) : (
              <form
                method="post"
                action={`${PATHS.users}/${member.userId}/reactivate`}
                hx-post={`${PATHS.users}/${member.userId}/reactivate`}
                {...htmx}
                class="inline"
              >
                <CsrfField token={viewer.csrfToken} />
                <button type="submit">Reactivate</button>
              </form>
            ))}
        </td>
      )}
    </tr>
  );
}

function decisionRule(decision: RoleDecisionRow): string {
  switch (decision.rule) {
    case "group":
      return `Member of ${decision.decidingGroup?.name ?? "a mapped group"} → ${roleLabel(decision.role)}`;
    case "default":
      return `No mapped group: default role (${roleLabel(decision.role)})`;
    case "owner_kept":
      return "Owners are never changed by mapping";
    case "graph_failed":
      return "Microsoft Graph could not be read; role kept";
  }
}

/** The last group → role decision: which mapped groups matched, the rule that won, when Graph was read. */
function WhyThisRole(props: { decision: RoleDecisionRow }) {
  const { decision } = props;
  return (
    <details class="why-role">
      <summary>Why this role</summary>
      <p>{decisionRule(decision)}</p>
      <p>
        Mapped groups matched:{" "}
        {decision.matchedGroups.length === 0 ? "none" : decision.matchedGroups.map((g) => `${g.name} (${roleLabel(g.role)})`).join(", ")}
      </p>
      <p class="muted">
        {decision.graphReadAt ? `Microsoft Graph read ${formatTime(decision.graphReadAt)}` : "Microsoft Graph not read"} · decided{" "}
        {formatTime(decision.decidedAt)}
      </p>
    </details>
  );
}

function Invitations(props: { viewer: Viewer; invitations: InvitationRow[] }) {
  const { viewer } = props;
  const htmx = { "hx-target": "#users-section", "hx-swap": "outerHTML" };
  return (
    <section class="card">
      <h2>Invite someone</h2>
      <form method="post" action={`${PATHS.users}/invitations`} hx-post={`${PATHS.users}/invitations`} {...htmx} class="row">
        <CsrfField token={viewer.csrfToken} />
        <label>
          Email <input type="email" name="email" required maxlength={254} autocomplete="off" />
        </label>
        <label>
          Role{" "}
          <select name="role">
            {assignableRoles(viewer).map((role) => (
              <option value={role} selected={role === "member"}>
                {roleLabel(role)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Send invitation</button>
      </form>
      <h3>Pending invitations</h3>
      {props.invitations.length === 0 ? (
        <p class="muted">No pending invitations.</p>
      ) : (
        <ul class="invitations">
          {props.invitations.map((invitation) => (
            <li>
              {invitation.email} — <RoleBadge role={invitation.role} />{" "}
              <form
                method="post"
                action={`${PATHS.users}/invitations/${invitation.id}/revoke`}
                hx-post={`${PATHS.users}/invitations/${invitation.id}/revoke`}
                {...htmx}
                class="inline"
              >
                <CsrfField token={viewer.csrfToken} />
                <button type="submit" class="link">
                  Revoke
                </button>
              </form>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
